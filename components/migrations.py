"""A service's migrations as one Pulumi dynamic resource.

pulumi-postgresql has no table resource, so the baseline DDL is applied by this provider,
which delegates to `edulink_db.migrations.runner`. Inputs carry the files (name, checksum,
SQL) so `pulumi preview --diff` lists the pending ones; the admin connection travels as a
secret input, never in config the provider process would have to re-read.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from edulink_db.connection import ConnectionSettings
from edulink_db.migrations.files import Step
from edulink_db.migrations.runner import (
    Applied,
    apply_migrations,
    drop_service_tables,
    read_history,
)
from edulink_db.wire import from_wire, to_wire

# Changing these means another schema or role: the old history does not describe it.
_REPLACE_ON = ("service", "schema", "role")


def steps_from(props: dict[str, Any]) -> list[Step]:
    return list(from_wire(tuple[Step, ...], props.get("steps") or []))


def file_list(steps: list[Step]) -> list[str]:
    """What a reviewer reads in the preview diff: one line per file with its checksum."""
    return [
        f"{s.file_name} sha256:{s.checksum[:16]}" for s in sorted(steps, key=lambda s: s.version)
    ]


def _outputs(props: dict[str, Any], history: list[Applied]) -> dict[str, Any]:
    return {
        **props,
        "applied": [f"{a.version:04d}_{a.name}.sql sha256:{a.checksum[:16]}" for a in history],
    }


def _connection(props: dict[str, Any]) -> ConnectionSettings:
    return ConnectionSettings.from_mapping(props["connection"])


class MigrationsProvider(ResourceProvider):
    """Create and update apply pending files; delete keeps the data unless disposable."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """An applied file must not change, unless the change is a replace (another schema or
        role), whose history starts anew."""
        failures = []
        olds = olds or {}
        replaced = any(olds.get(key) != news.get(key) for key in _REPLACE_ON)
        previous = {} if replaced else {s.version: s for s in steps_from(olds)}
        for step in steps_from(news):
            old = previous.get(step.version)
            if old is not None and old.checksum != step.checksum:
                failures.append(
                    CheckFailure(
                        "steps",
                        f"migrations/{news['service']}/{step.file_name} was changed after it was "
                        "applied; restore it and add a new migration instead",
                    )
                )
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """`olds` are the stored outputs: after a refresh, `applied` is the live history, so a
        lost or edited history row makes an update, which repairs nothing silently: the
        runner refuses it naming the files. A changed connection (a rotated admin password)
        is an update that puts it in state for refresh and delete."""
        replaces = [key for key in _REPLACE_ON if olds.get(key) != news.get(key)]
        changes = replaces or [
            key for key in ("files", "disposable") if olds.get(key) != news.get(key)
        ]
        if "applied" in olds and olds["applied"] != news.get("files"):
            changes.append("applied")
        if _connection(olds) != _connection(news):
            changes.append("connection")
        return DiffResult(
            changes=bool(changes), replaces=replaces, delete_before_replace=bool(replaces)
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        history = self._apply(props)
        return CreateResult(f"{props['schema']}.migrations", _outputs(props, history))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_outputs(news, self._apply(news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        history = read_history(_connection(props), props["schema"])
        return ReadResult(id_, _outputs(props, history or []))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("disposable"):
            drop_service_tables(_connection(props), props["schema"], props["role"])

    def _apply(self, props: dict[str, Any]) -> list[Applied]:
        settings = _connection(props)
        return apply_migrations(
            settings, props["service"], props["schema"], props["role"], steps_from(props)
        )


class ServiceMigrations(Resource, module="edulink-db", name="ServiceMigrations"):
    """The applied history of one service's migrations."""

    applied: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        service: str,
        schema: pulumi.Input[str],
        role: pulumi.Input[str],
        steps: list[Step],
        disposable: bool,
        connection: pulumi.Input[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "service": service,
            "schema": schema,
            "role": role,
            "steps": to_wire(steps),
            "files": file_list(steps),
            "disposable": disposable,
            "connection": pulumi.Output.secret(connection),
            "applied": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["connection"])
        super().__init__(
            MigrationsProvider(), resource_name, props, pulumi.ResourceOptions.merge(secret, opts)
        )
