"""The dev stack's embedded database as one Pulumi dynamic resource (`edulink_db.embedded`).

Create initialises and starts it and gives `postgres` a password generated here, kept only in
the state (a secret output); delete stops it and removes its folder. Check starts a server
whose folder exists but which is stopped (after a reboot): every preview, up, refresh and
destroy needs it running before the postgresql provider connects, and Check is the one call
the engine makes for every resource on every run, before any other resource's step.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
)

from edulink_db.embedded import EmbeddedServer
from edulink_db.server_binaries import server_bin_dir

_REPLACE_ON = ("folder", "port", "major")


def _server(props: dict[str, Any]) -> EmbeddedServer:
    major = int(props["major"])
    return EmbeddedServer(server_bin_dir(major), Path(props["folder"]), int(props["port"]))


class EmbeddedDatabaseProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        server = _server(news)
        if server.initialized():
            server.start()
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in _REPLACE_ON if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        password = secrets.token_urlsafe(32)
        _server(props).ensure(password)
        return CreateResult(f"embedded:{props['folder']}", {**props, "password": password})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A folder removed by hand: the resource is gone, and the next `up` creates it again.
        return ReadResult(id_ if _server(props).initialized() else "", props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        _server(props).remove()


class EmbeddedDatabase(Resource, module="edulink-db", name="EmbeddedDatabase"):
    """`password` is the admin's (`postgres`), a secret output."""

    password: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        folder: str,
        port: int,
        major: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"folder": folder, "port": port, "major": major, "password": None}
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(
            EmbeddedDatabaseProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(secret, opts),
        )
