"""What the audit knows of a live database: plain, frozen values read from the catalog.

Every dataset is None when it could not be read; `unavailable` then says why, and the audit
turns each rule that needs it into a "not evaluated" result rather than a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class AclEntry:
    """One privilege of one grantee, as `aclexplode` lists it; grantee "PUBLIC" is everyone."""

    grantee: str
    privilege: str
    grantable: bool = False


Acl = tuple[AclEntry, ...]


@dataclass(frozen=True)
class SessionInfo:
    server_version_num: int
    server_version: str
    current_user: str
    session_user: str
    database: str
    transaction_read_only: bool
    transaction_isolation: str
    superuser: bool


@dataclass(frozen=True)
class LiveRole:
    name: str
    superuser: bool
    inherit: bool
    create_role: bool
    create_database: bool
    login: bool
    replication: bool
    bypass_row_level_security: bool
    connection_limit: int
    config: tuple[str, ...]  # ALTER ROLE ... SET, as "name=value"
    database_config: tuple[str, ...]  # ALTER ROLE ... IN DATABASE <this one> SET


@dataclass(frozen=True)
class LiveMembership:
    group: str
    member: str
    admin_option: bool
    inherit_option: bool | None  # per membership since PostgreSQL 16; None before
    set_option: bool | None  # likewise
    grantor: str


@dataclass(frozen=True)
class LiveSchema:
    name: str
    owner: str
    acl: Acl  # effective: the owner's implicit privileges when nspacl is NULL


@dataclass(frozen=True)
class LiveRelation:
    schema: str
    name: str
    kind: str  # pg_class.relkind: r p v m S f
    owner: str
    row_security: bool
    force_row_security: bool
    acl: Acl  # effective
    column_acl: Mapping[str, Acl]  # only columns with privileges of their own
    readable: bool  # the session may SELECT from it (USAGE on its schema and SELECT)

    @property
    def is_table(self) -> bool:
        return self.kind in ("r", "p")


@dataclass(frozen=True)
class LivePolicy:
    schema: str
    table: str
    name: str
    command: str  # all, select, insert, update, delete
    permissive: bool
    roles: tuple[str, ...]  # sorted; "public" for PUBLIC
    using: str | None  # pg_get_expr, rendered with search_path = pg_catalog
    with_check: str | None


@dataclass(frozen=True)
class LiveDefaultAcl:
    """Default privileges of `owner` for new objects of `object_type`; `schema` None is the
    global entry, with PostgreSQL's built-in defaults filled in where no entry exists."""

    owner: str
    schema: str | None
    object_type: str  # table, sequence, function, type, schema
    explicit: bool  # a pg_default_acl row exists (False: the built-in default applies)
    acl: Acl


@dataclass(frozen=True)
class LiveFunction:
    schema: str
    name: str
    arguments: str  # identity arguments, e.g. "integer, text"
    kind: str  # pg_proc.prokind: f p a w
    owner: str
    security_definer: bool
    config: tuple[str, ...]  # SET clauses, "name=value"
    acl: Acl  # effective
    from_extension: bool


@dataclass(frozen=True)
class LiveType:
    schema: str
    name: str
    kind: str  # pg_type.typtype: b c d e r m
    owner: str
    acl: Acl  # effective


@dataclass(frozen=True)
class LiveForeignKey:
    schema: str
    table: str
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    indexed: bool  # a valid, non-partial index leads with exactly these columns


@dataclass(frozen=True)
class MigrationRecord:
    version: int
    name: str
    checksum: str


@dataclass(frozen=True)
class LiveHistory:
    """Migration history per schema: read, or why it could not be (schemas without a history
    table are in neither)."""

    records: Mapping[str, tuple[MigrationRecord, ...]] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatabaseState:
    session: SessionInfo
    roles: Mapping[str, LiveRole] | None = None
    memberships: tuple[LiveMembership, ...] | None = None
    schemas: Mapping[str, LiveSchema] | None = None
    relations: Mapping[tuple[str, str], LiveRelation] | None = None
    policies: tuple[LivePolicy, ...] | None = None
    default_acls: tuple[LiveDefaultAcl, ...] | None = None
    functions: tuple[LiveFunction, ...] | None = None
    types: tuple[LiveType, ...] | None = None
    foreign_keys: tuple[LiveForeignKey, ...] | None = None
    history: LiveHistory | None = None
    # dataset name -> why it is None
    unavailable: Mapping[str, str] = field(default_factory=dict)
    queries: int = 0
