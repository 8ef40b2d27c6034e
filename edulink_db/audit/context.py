"""What every rule reads: the plan, the migrations' table shapes, the live state, and the
lookups several rules share. A rule that touches a dataset the audit could not read gets
DatasetUnavailable, which the evaluator reports as "not evaluated"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Generic, TypeVar

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


class LiveDataset(Generic[T]):
    """One dataset of the live state as a rule reads it: the `DatabaseState` field of the
    same name, or DatasetUnavailable with the reason the audit could not read it. Every
    dataset is read the same way, so each is declared once with its type and this is the
    one place that says what an unread dataset does."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, ctx: AuditContext, owner: type | None = None) -> T:
        value: T | None = getattr(ctx.state, self.name)
        if value is None:
            reason = ctx.state.unavailable.get(self.name, f"{self.name} were not read")
            raise DatasetUnavailable(self.name, reason)
        return value


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

    roles = LiveDataset[Mapping[str, LiveRole]]()
    memberships = LiveDataset[tuple[LiveMembership, ...]]()
    schemas = LiveDataset[Mapping[str, LiveSchema]]()
    relations = LiveDataset[Mapping[tuple[str, str], LiveRelation]]()
    policies = LiveDataset[tuple[LivePolicy, ...]]()
    default_acls = LiveDataset[tuple[LiveDefaultAcl, ...]]()
    functions = LiveDataset[tuple[LiveFunction, ...]]()
    types = LiveDataset[tuple[LiveType, ...]]()
    foreign_keys = LiveDataset[tuple[LiveForeignKey, ...]]()
    history = LiveDataset[LiveHistory]()

    def tables(self) -> list[LiveRelation]:
        """Tables (plain and partitioned) of the services' schemas."""
        return [r for r in self.relations.values() if r.is_table]

    def table_exists(self, schema: str, table: str) -> bool:
        relation = self.relations.get((schema, table))
        return relation is not None and relation.is_table
