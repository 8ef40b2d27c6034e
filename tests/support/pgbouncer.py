"""A PgBouncer in front of a test cluster: Supabase's transaction pooler (port 6543) in
miniature, in transaction mode by default. With one server connection per user and
database, any session state a client left behind would reach the next client, so tests see
leaks at once.

TLS on both sides where the cluster serves it, as Supavisor does: clients connect with the
cluster's sslmode (`require`) and PgBouncer presents the cluster's own certificate; PgBouncer
connects to the server with that sslmode too (the cluster accepts nothing else).

PgBouncer 1.18 (Debian's) accepts only the startup parameters it tracks (client_encoding,
DateStyle, TimeZone, standard_conforming_strings, application_name) and refuses any other,
`options` included, with "unsupported startup parameter"; `ignore_startup_parameters`
makes it drop the listed ones silently instead, which is what a pooler that ignores
`options` does."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

from tests.support.cluster import Cluster

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
OS_USER = "postgres"  # pgbouncer refuses to run as root


@dataclass(frozen=True)
class Pooler:
    host: str
    port: int
    sslmode: str = "disable"

    def dsn(self, user: str, password: str, dbname: str) -> str:
        return make_conninfo(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            dbname=dbname,
            sslmode=self.sslmode,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@contextmanager
def transaction_pooler(
    cluster: Cluster, users: Mapping[str, str], pool_size: int = 1
) -> Iterator[Pooler]:
    """Start PgBouncer in transaction mode for `users` (name -> password)."""
    with pgbouncer(cluster, users, pool_size) as pooler:
        yield pooler


@contextmanager
def pgbouncer(
    cluster: Cluster,
    users: Mapping[str, str],
    pool_size: int = 1,
    mode: str = "transaction",
    ignore_startup_parameters: str = "",
) -> Iterator[Pooler]:
    """Start PgBouncer for `users` (name -> password) in `mode` (transaction or session);
    stop it and remove its files after."""
    folder = Path(tempfile.mkdtemp(prefix="edulink-pgbouncer-"))
    port = _free_port()
    client_tls = "client_tls_sslmode = disable\n"
    if cluster.certificate is not None and cluster.private_key is not None:
        client_tls = (
            "client_tls_sslmode = require\n"
            f"client_tls_cert_file = {cluster.certificate}\n"
            f"client_tls_key_file = {cluster.private_key}\n"
        )
    (folder / "userlist.txt").write_text(
        "".join(f"{_quote(u)} {_quote(p)}\n" for u, p in users.items())
    )
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={cluster.host} port={cluster.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir = {folder}\n"
        "auth_type = scram-sha-256\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        f"pool_mode = {mode}\n"
        f"ignore_startup_parameters = {ignore_startup_parameters}\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 200\n"
        f"server_tls_sslmode = {cluster.sslmode}\n"
        + client_tls
        + "server_reset_query =\n"  # transaction mode runs none anyway; say so
        # After a server restart, reconnect on the next client's demand, not 15 s later.
        "server_login_retry = 1\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(folder, OS_USER)
        for path in folder.iterdir():
            shutil.chown(path, OS_USER)
        folder.chmod(0o755)
        command = ["runuser", "-u", OS_USER, "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pooler = Pooler("127.0.0.1", port, "require" if cluster.certificate else "disable")
    try:
        _wait_until_listening(pooler, process, folder)
        yield pooler
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_listening(pooler: Pooler, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (
                (folder / "pgbouncer.log").read_text(errors="replace")
                if (folder / "pgbouncer.log").exists()
                else ""
            )
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {log[-2000:]}")
        try:
            with socket.create_connection((pooler.host, pooler.port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening within 10 s")


def settings_through(pooler: Pooler, connection: Mapping[str, object]) -> dict[str, object]:
    """The same admin connection, through the pooler."""
    return {**connection, "host": pooler.host, "port": pooler.port}


__all__ = ["Pooler", "pgbouncer", "settings_through", "transaction_pooler"]
