"""Plan objects: frozen, ordered, and free of Pulumi, so the matrix, the audit and the
components all read one description of the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edulink_db.migrations.files import Step

GrantObject = Literal["schema", "table", "column"]


@dataclass(frozen=True)
class RolePlan:
    """A role and every attribute the platform pins. Dangerous attributes are spelled out
    (always false) so the audit and the policy pack can compare them to the live catalog."""

    name: str
    login: bool
    connection_limit: int = -1
    statement_timeout_ms: int | None = None
    idle_in_transaction_session_timeout_ms: int | None = None
    search_path: tuple[str, ...] = ()
    assume_role: str | None = None
    inherit: bool = True
    superuser: bool = False
    create_database: bool = False
    create_role: bool = False
    replication: bool = False
    bypass_row_level_security: bool = False


@dataclass(frozen=True)
class Membership:
    member: str
    group: str
    why: str


@dataclass(frozen=True)
class SchemaPlan:
    name: str
    owner: str


@dataclass(frozen=True)
class WantedPrivilege:
    """One privilege the plan wants a role to hold: on a schema (`table` None), on a whole
    table (`columns` empty) or on some columns of a table. The components grant these, the
    matrix shows them and the audit compares the live ACL with them."""

    grantee: str
    schema: str
    table: str | None
    privilege: str
    columns: tuple[str, ...] = ()

    @property
    def object_type(self) -> GrantObject:
        if self.table is None:
            return "schema"
        return "column" if self.columns else "table"


@dataclass(frozen=True)
class GrantPlan:
    """One GRANT the consumer needs on a producer's object.

    `after` names the grant this one must wait for: PostgreSQL rewrites a whole ACL row per
    GRANT, and two grants on the same row in parallel fail with "tuple concurrently updated"
    (provider pitfall P7), so grants on one object form a chain.
    """

    key: str
    consumer: str
    producer: str
    grantee: str
    object_type: GrantObject
    schema: str
    table: str | None
    columns: tuple[str, ...]
    privileges: tuple[str, ...]
    after: str | None = None

    @property
    def acl_object(self) -> tuple[str, str | None]:
        return (self.schema, self.table)

    @property
    def wanted(self) -> tuple[WantedPrivilege, ...]:
        """What this grant gives, one privilege at a time, in the order it lists them."""
        return tuple(
            WantedPrivilege(self.grantee, self.schema, self.table, privilege, self.columns)
            for privilege in self.privileges
        )


@dataclass(frozen=True)
class DefaultPrivilegePlan:
    """Default privileges on objects the owner creates later; `schema=None` is global,
    which is the only way to take PostgreSQL's built-in PUBLIC grants away."""

    key: str
    owner: str
    grantee: str
    object_type: Literal["table", "sequence", "function", "type"]
    privileges: tuple[str, ...]
    schema: str | None = None


@dataclass(frozen=True)
class MigrationPlan:
    service: str
    schema: str
    role: str
    steps: tuple[Step, ...]
    after_services: tuple[str, ...]  # producers whose tables these migrations may reference
    after_grants: tuple[str, ...]  # grants their cross-schema foreign keys need


@dataclass(frozen=True)
class ServicePlan:
    name: str
    schema: SchemaPlan
    group: RolePlan
    login: RolePlan
    memberships: tuple[Membership, ...]
    grants: tuple[GrantPlan, ...]
    default_privileges: tuple[DefaultPrivilegePlan, ...]
    migrations: MigrationPlan
    row_security: tuple[TableSecurityPlan, ...]
    # The service's policies: on its own tables (owner's and custom), and the SELECT
    # policies it needs on other services' tables with RLS (declared reads).
    policies: tuple[PolicyPlan, ...]


@dataclass(frozen=True)
class AccessPlan:
    """The whole database; services are in dependency order (producers first)."""

    database: str
    admin_role: str
    protected: bool
    disposable: bool
    services: tuple[ServicePlan, ...]

    def service(self, name: str) -> ServicePlan:
        return next(s for s in self.services if s.name == name)

    @property
    def grants(self) -> tuple[GrantPlan, ...]:
        return tuple(g for s in self.services for g in s.grants)

    def wanted_acl(self) -> frozenset[WantedPrivilege]:
        """Every privilege the plan grants a role on another service's schema, tables or
        columns: the one reading of the grants that the components, the access matrix and
        the audit share. Owners' implicit privileges are not in it."""
        return frozenset(w for grant in self.grants for w in grant.wanted)


@dataclass(frozen=True)
class TableSecurityPlan:
    """Row-level security enabled and forced: forced, because the owning group is what the
    service acts as, and an owner bypasses policies unless RLS is forced (defect 6)."""

    schema: str
    table: str
    owner: str


@dataclass(frozen=True)
class PolicyPlan:
    """One policy; `owner` is the table owner the statement runs as. Expressions are the
    canonical SQL from `rowpolicy`, never the catalogue's text."""

    service: str  # the service whose table this is
    schema: str
    table: str
    owner: str
    name: str
    command: str
    permissive: bool
    roles: tuple[str, ...]
    # None is a policy without that clause; the default keeps "absent" meaning the same
    # once the plan has crossed the engine (edulink_db/wire.py).
    using: str | None = None
    with_check: str | None = None
