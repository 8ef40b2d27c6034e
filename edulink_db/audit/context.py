"""What every rule reads: the plan, the migrations' table shapes, the live state, and the
lookups several rules share. A rule that touches a dataset the audit could not read gets
DatasetUnavailable, which the evaluator reports as "not evaluated"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from edulink_db.audit.names import database_object
from edulink_db.introspect.state import (
    DatabaseState,
    LiveDefaultAcl,
    LiveForeignKey,
    LiveFunction,
    LiveHistory,
    LiveMembership,
    LivePolicy,
    LiveRelation,
    LiveRole,
    LiveSchema,
    LiveType,
)
from edulink_db.migrations.ddl import SchemaShape
from edulink_db.plan.model import AccessPlan, RolePlan, ServicePlan

# The Data API's roles: a privilege for one of them (or PUBLIC) exposes a service's data
# beyond the services. Security lints report them; drift rules leave them to those lints so
# that one problem is one finding.
API_ROLES = ("anon", "authenticated", "service_role")
EXPOSED_GRANTEES = frozenset({"PUBLIC", *API_ROLES})

T = TypeVar("T")


class DatasetUnavailable(Exception):
    def __init__(self, dataset: str, reason: str) -> None:
        super().__init__(reason)
        self.dataset = dataset
        self.reason = reason


@dataclass(frozen=True)
class AuditContext:
    plan: AccessPlan
    shapes: Mapping[str, SchemaShape]  # by service name
    state: DatabaseState

    # -- the plan ------------------------------------------------------------------------

    @cached_property
    def services_by_schema(self) -> dict[str, ServicePlan]:
        return {s.schema.name: s for s in self.plan.services}

    @property
    def service_schemas(self) -> tuple[str, ...]:
        return tuple(self.services_by_schema)

    @cached_property
    def planned_roles(self) -> dict[str, RolePlan]:
        roles = {}
        for service in self.plan.services:
            roles[service.group.name] = service.group
            roles[service.login.name] = service.login
        return roles

    @cached_property
    def groups(self) -> dict[str, ServicePlan]:
        return {s.group.name: s for s in self.plan.services}

    @property
    def admin(self) -> str:
        return self.plan.admin_role

    @property
    def database(self) -> str:
        """The object a finding or a "not evaluated" names when it concerns everything."""
        return database_object(self.state.session.database)

    # -- the live database ---------------------------------------------------------------

    def _need(self, dataset: str, value: T | None) -> T:
        if value is None:
            reason = self.state.unavailable.get(dataset, f"{dataset} were not read")
            raise DatasetUnavailable(dataset, reason)
        return value

    @property
    def roles(self) -> Mapping[str, LiveRole]:
        return self._need("roles", self.state.roles)

    @property
    def memberships(self) -> tuple[LiveMembership, ...]:
        return self._need("memberships", self.state.memberships)

    @property
    def schemas(self) -> Mapping[str, LiveSchema]:
        return self._need("schemas", self.state.schemas)

    @property
    def relations(self) -> Mapping[tuple[str, str], LiveRelation]:
        return self._need("relations", self.state.relations)

    @property
    def policies(self) -> tuple[LivePolicy, ...]:
        return self._need("policies", self.state.policies)

    @property
    def default_acls(self) -> tuple[LiveDefaultAcl, ...]:
        return self._need("default_acls", self.state.default_acls)

    @property
    def functions(self) -> tuple[LiveFunction, ...]:
        return self._need("functions", self.state.functions)

    @property
    def types(self) -> tuple[LiveType, ...]:
        return self._need("types", self.state.types)

    @property
    def foreign_keys(self) -> tuple[LiveForeignKey, ...]:
        return self._need("foreign_keys", self.state.foreign_keys)

    @property
    def history(self) -> LiveHistory:
        return self._need("history", self.state.history)

    def tables(self) -> list[LiveRelation]:
        """Tables (plain and partitioned) of the services' schemas."""
        return [r for r in self.relations.values() if r.is_table]

    def table_exists(self, schema: str, table: str) -> bool:
        relation = self.relations.get((schema, table))
        return relation is not None and relation.is_table
