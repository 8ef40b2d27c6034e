"""A service's row-level security as one Pulumi dynamic resource.

pulumi-postgresql has no policy resource. This provider delegates to
`edulink_db.rls.apply`: create installs everything, update changes only the tables and
policies that differ, read reports what was changed by hand so the next `pulumi up` restores
it, and delete removes this resource's policies (protected stacks retain it instead).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from edulink_db.connection import ConnectionSettings
from edulink_db.plan.model import PolicyPlan, TableSecurityPlan
from edulink_db.rls.apply import SecurityState, apply_changes, plan_changes, read_state


def _state(props: dict[str, Any] | None) -> SecurityState:
    return SecurityState.from_props(props)


def _connection(props: dict[str, Any]) -> ConnectionSettings:
    return ConnectionSettings.from_mapping(props["connection"])


class RowLevelSecurityProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # A changed admin connection (a rotated password) is an update that runs no SQL: it
        # puts the new connection in state, which refresh and delete log in with.
        changed = _state(olds) != _state(news) or _connection(olds) != _connection(news)
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        apply_changes(_connection(props), plan_changes(SecurityState(), _state(props)))
        return CreateResult(f"{props['service']}.row-level-security", props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        apply_changes(_connection(news), plan_changes(_state(olds), _state(news)))
        return UpdateResult(news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = read_state(_connection(props), _state(props))
        return ReadResult(id_, live.over(props))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        apply_changes(_connection(props), plan_changes(_state(props), SecurityState()))


class RowLevelSecurity(Resource, module="edulink-db", name="RowLevelSecurity"):
    """RLS flags of a service's tables and the policies the service owns or needs."""

    def __init__(
        self,
        resource_name: str,
        *,
        service: str,
        tables: tuple[TableSecurityPlan, ...],
        policies: tuple[PolicyPlan, ...],
        connection: pulumi.Input[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "service": service,
            **SecurityState(tables, policies).to_props(),
            "connection": pulumi.Output.secret(connection),
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["connection"])
        super().__init__(
            RowLevelSecurityProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(secret, opts),
        )
