"""The dev stack's own database: a local PostgreSQL shaped like hosted Supabase, without Docker.

`pulumi up` on dev starts it (initdb on first use, then `pg_ctl start`), `pulumi destroy`
stops it and removes its folder. Its data lives under the project's work folder
(`.edulink/dev-database/`, git-ignored) and is reused by the next `up`. The server binaries
are those of the configured major (17 by default, what a new Supabase project runs; see
`server_binaries`).

The bootstrap superuser is `supabase_admin`, reachable only over the unix socket inside the
data folder (trust); `postgres` logs in over TCP on 127.0.0.1 with a password, a non-superuser
with CREATEROLE that owns the database — the hosted shape (`emulation/supabase.sql`).

PostgreSQL refuses to run as root: as root, every server tool runs as the OS user `postgres`
(`runuser`), which then owns the data folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from edulink_db.emulation import ADMIN_ROLE, BOOTSTRAP_SUPERUSER, emulation_sections
from edulink_db.errors import UserError

SERVER_OS_USER: Final = "postgres"
DATABASE: Final = "postgres"
START_TIMEOUT_S: Final = 60
SOCKET_PATH_MAX: Final = 107


class EmbeddedError(UserError):
    """The embedded database could not be created, started or removed; says which and why."""


@dataclass(frozen=True)
class EmbeddedServer:
    """One data folder served on one port of 127.0.0.1."""

    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def log_file(self) -> Path:
        return self.data_dir.with_name(self.data_dir.name + ".log")

    @property
    def socket_dir(self) -> Path:
        """Inside the data folder, unless that path is too long for a unix socket (107 bytes
        on Linux): then a short folder of its own under the system's temporary folder."""
        if len(str(self.data_dir)) + len("/.s.PGSQL.65535") <= SOCKET_PATH_MAX:
            return self.data_dir
        return Path(tempfile.gettempdir()) / f"edulink-dev-{self.port}"

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def running(self) -> bool:
        if not self.initialized():
            return False
        result = self._tool(["pg_ctl", "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def ensure(self, admin_password: str) -> None:
        """Created, running, and `postgres` logging in with `admin_password`: whatever state
        the folder was in (new, stopped, or left by an earlier stack whose state is gone)."""
        if not self.initialized():
            self._init()
        self.start()
        with self._superuser() as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'anon'").fetchone():
                conn.execute(emulation_sections()["cluster"])
                conn.execute(emulation_sections()["database"])
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(ADMIN_ROLE), sql.Literal(admin_password)
                )
            )

    def start(self) -> None:
        if self.running():
            return
        if self.socket_dir != self.data_dir:
            self.socket_dir.mkdir(mode=0o700, exist_ok=True)
            user = _server_user()
            if user:
                chown(self.socket_dir, user)
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.socket_dir}"
        argv = ["pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w"]
        argv += ["-t", str(START_TIMEOUT_S), "-o", options]
        result = self._tool(argv, check=False)
        if result.returncode != 0:
            raise EmbeddedError(
                f"the dev database in {self.data_dir} did not start on port {self.port}: "
                f"{_tail(self.log_file) or result.stderr.strip()}"
            )

    def stop(self) -> None:
        if self.running():
            self._tool(["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w"])

    def remove(self) -> None:
        """Stop the server and delete its folder and log: what `pulumi destroy` does on dev."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)

    def _init(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        user = _server_user()
        if user:
            allow_traversal(self.data_dir.parent)
            allow_traversal(self.bin_dir)
            chown(self.data_dir.parent, user)
        argv = ["initdb", "-D", str(self.data_dir), "-U", BOOTSTRAP_SUPERUSER]
        argv += ["--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8"]
        self._tool([*argv, "--locale=C.UTF-8"])

    def _superuser(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=BOOTSTRAP_SUPERUSER,
            dbname=DATABASE,
            autocommit=True,
        )

    def _tool(self, argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        user = _server_user()
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        full = ["runuser", "-u", user, "--", *command] if user else command
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(
            full,
            capture_output=True,
            text=True,
            env={**env, "LC_ALL": "C.UTF-8"},
            cwd=self.data_dir.parent,
            check=False,
        )
        if check and result.returncode != 0:
            raise EmbeddedError(
                f"{argv[0]} failed for the dev database in {self.data_dir}: "
                f"{(result.stderr or result.stdout).strip()}"
            )
        return result


def _server_user() -> str | None:
    return SERVER_OS_USER if os.geteuid() == 0 else None


def allow_traversal(path: Path) -> None:
    """Let the server's OS user reach `path`: add only the search bit (o+x) where it is missing.

    A checkout or pytest's tmp_path may sit under a 0700 folder; without this, initdb run as
    `postgres` cannot reach the data folder. Search without read does not expose listings.
    """
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def chown(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _tail(log: Path, lines: int = 5) -> str:
    if not log.is_file():
        return ""
    return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
