"""The dev stack's embedded database, through the SDK's provider host as `pulumi up` runs it:
created and reachable as a non-superuser `postgres`, started again after a stop, reused,
and gone after delete."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from components.embedded_database import EmbeddedDatabaseProvider
from edulink_db.embedded import EmbeddedServer
from edulink_db.server_binaries import server_bin_dir
from tests.support.provider_host import HostedProvider, hosted
from tests.support.report import register_secret


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def provider() -> HostedProvider:
    return hosted(EmbeddedDatabaseProvider(), "dev-embedded-database")


@pytest.fixture
def props(tmp_path: Path) -> Iterator[dict[str, object]]:
    values: dict[str, object] = {
        "folder": str(tmp_path / ".edulink" / "dev-database"),
        "port": _free_port(),
        "major": 17,
    }
    yield values
    EmbeddedServer(
        server_bin_dir(17), Path(str(values["folder"])), int(str(values["port"]))
    ).remove()


def _login(props: dict[str, object], password: str) -> tuple[object, ...] | None:
    with psycopg.connect(
        host="127.0.0.1",
        port=int(str(props["port"])),
        user="postgres",
        password=password,
        dbname="postgres",
    ) as conn:
        return conn.execute(
            "SELECT current_user, rolsuper, rolcreaterole, current_setting('server_version_num')::int / 10000,"
            " (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'postgres')"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()


def test_create_stop_check_reuse_and_delete(
    provider: HostedProvider, props: dict[str, object]
) -> None:
    created = provider.create(props)
    password = str(created.outs["password"])
    register_secret(password)
    assert _login(props, password) == ("postgres", False, True, 17, "postgres")
    folder = Path(str(props["folder"]))
    server = EmbeddedServer(server_bin_dir(17), folder, int(str(props["port"])))
    server.stop()
    assert not server.running()
    provider.check(created.outs, props)  # the next preview or up starts it again
    assert server.running()
    assert provider.diff(created.id, created.outs, props) is False  # reused, nothing to do
    assert provider.read(created.id, created.outs)["password"] == password
    provider.delete(created.id, created.outs)
    assert not folder.exists() and not server.running()


def test_a_changed_port_replaces_it(provider: HostedProvider, props: dict[str, object]) -> None:
    created = provider.create(props)
    register_secret(str(created.outs["password"]))
    assert provider.diff(created.id, created.outs, {**props, "port": _free_port()}) is True
    provider.delete(created.id, created.outs)
