"""Replay a recorded program onto a real PostgreSQL, as the providers would apply it.

`postgresql:*` resources run as the SQL pulumi-postgresql 3.18 runs for them on create
(notes/provider-semantics.md §13): one transaction each, as the admin, with the provider's
advisory locks and its temporary "owner dance" membership for a non-superuser admin.
Dynamic resources go through the SDK's own provider host (`tests/support/provider_host.py`):
Check then Create, with the Struct the program registered, as the engine sends it. Random and
Docker resources are already resolved by the mocks; provider resources only hold connection
data.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg
from google.protobuf import json_format
from psycopg import sql

from tests.support.program import Recording, Registration
from tests.support.provider_host import ProviderHost

# The dev stack's own database (Docker or embedded) is what the test cluster stands in for;
# its providers are tested on their own (test_embedded_database.py, the real-engine tier).
SKIPPED_PREFIXES = (
    "docker:",
    "pulumi:",
    "edulink-db:index:",
    "pulumi-python:dynamic/edulink-db:EmbeddedDatabase",
    # Passwords: the mocks generate them so the program's roles can use them; the provider
    # itself is driven through the host in test_generated_password.py.
    "pulumi-python:dynamic/edulink-db:GeneratedPassword",
)
DYNAMIC = "pulumi-python:dynamic"

_OBJECT_KEYWORD = {
    "table": "TABLE",
    "sequence": "SEQUENCE",
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
    "routine": "ROUTINE",
}
_DEFAULT_OBJECTS = {
    "table": "TABLES",
    "sequence": "SEQUENCES",
    "function": "FUNCTIONS",
    "routine": "ROUTINES",
    "type": "TYPES",
    "schema": "SCHEMAS",
}


@dataclass
class Replay:
    """Executed statements (passwords redacted) and the order resources were applied in."""

    statements: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)


def topological_orders(recording: Recording, seed: int | None = None) -> list[Registration]:
    """One order the engine could pick: every resource after its dependencies and parent.

    With a seed, ties are broken at random, which is what `pulumi up`'s parallelism amounts
    to; the result must not depend on it.
    """
    by_urn = recording.by_urn()
    needs = {
        r.urn: {d for d in (*r.dependencies, r.parent) if d in by_urn} for r in recording.resources
    }
    rng = random.Random(seed)
    done: set[str] = set()
    order: list[Registration] = []
    while len(order) < len(recording.resources):
        ready = [u for u, deps in needs.items() if u not in done and deps <= done]
        if not ready:
            raise AssertionError(f"dependency cycle among {sorted(set(needs) - done)}")
        pick = rng.choice(ready) if seed is not None else ready[0]
        done.add(pick)
        order.append(by_urn[pick])
    return order


def replay(
    recording: Recording,
    admin_dsn: str,
    connection: dict[str, Any],
    seed: int | None = None,
    workers: int = 1,
) -> Replay:
    """Apply every resource; `connection` replaces the admin connection dynamic resources
    carry, so a recording of any stack lands on the test database.

    With `workers` > 1, resources run concurrently as soon as their dependencies are done,
    the way `pulumi up` schedules them (its default parallelism is unbounded).
    """
    log = Replay()
    with ProviderHost() as host:
        apply = partial(_apply, host=host, admin_dsn=admin_dsn, connection=connection, log=log)
        if workers == 1:
            for resource in topological_orders(recording, seed):
                apply(resource)
        else:
            _apply_concurrently(recording, apply, random.Random(seed), workers)
    return log


def _apply(
    resource: Registration,
    *,
    host: ProviderHost,
    admin_dsn: str,
    connection: dict[str, Any],
    log: Replay,
) -> None:
    if resource.type.startswith(SKIPPED_PREFIXES):
        return
    log.order.append(resource.name)
    if resource.type.startswith(DYNAMIC):
        create_dynamic(host, resource, connection)
        return
    apply_sql(resource, admin_dsn, log)


def apply_sql(resource: Registration, admin_dsn: str, log: Replay) -> None:
    """A `postgresql:*` resource's create, as the provider's SQL in one transaction."""
    handler = HANDLERS.get(resource.type)
    if handler is None:
        raise AssertionError(f"the replay does not know {resource.type}")
    with psycopg.connect(admin_dsn, autocommit=False) as conn:
        handler(_Executor(conn, log), resource.inputs)
        conn.commit()


def _apply_concurrently(
    recording: Recording,
    apply: Callable[[Registration], None],
    rng: random.Random,
    workers: int,
) -> None:
    by_urn = recording.by_urn()
    needs = {
        r.urn: {d for d in (*r.dependencies, r.parent) if d in by_urn} for r in recording.resources
    }
    done: set[str] = set()
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while len(done) < len(needs):
            started = set(running.values())
            ready = [
                u
                for u, deps in needs.items()
                if u not in done and u not in started and deps <= done
            ]
            rng.shuffle(ready)
            for urn in ready:
                running[pool.submit(apply, by_urn[urn])] = urn
            if not running:
                raise AssertionError(f"dependency cycle among {sorted(set(needs) - done)}")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # re-raise the first failure, e.g. "tuple concurrently updated"
                done.add(running.pop(future))


def registered_inputs(resource: Registration, connection: dict[str, Any]) -> dict[str, Any]:
    """The Struct the program registered, as JSON (secrets still wrapped, None values kept),
    with the admin connection swapped for the test database's."""
    inputs: dict[str, Any] = json_format.MessageToDict(resource.struct)
    if "connection" in inputs:
        inputs["connection"] = connection
    return inputs


def create_dynamic(
    host: ProviderHost, resource: Registration, connection: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """What the engine does for a new dynamic resource: Check against no old inputs, then
    Create with what Check returned."""
    checked = host.check(resource.urn, {}, registered_inputs(resource, connection))
    return host.create(resource.urn, checked)


@dataclass
class _Executor:
    conn: psycopg.Connection[Any]
    log: Replay

    def run(
        self, statement: sql.Composable, params: tuple[Any, ...] | None = None, redact: bool = False
    ) -> list[Any]:
        text = statement.as_string(self.conn)
        self.log.statements.append("<redacted: carries a password>" if redact else text)
        cursor = self.conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []

    def value(self, query: str, *params: Any) -> Any:
        row = self.conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    def lock_role(self, role: str) -> None:
        """pgLockRole: the role and every member of it, transaction-scoped."""
        self.run(sql.SQL("SET statement_timeout = 0"))
        self.run(
            sql.SQL("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_roles WHERE rolname = %s"),
            (role,),
        )
        self.run(
            sql.SQL(
                "SELECT pg_advisory_xact_lock(member::bigint) FROM pg_auth_members m"
                " JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = %s"
            ),
            (role,),
        )

    def with_roles_granted(self, roles: list[str], body: Callable[[], None]) -> None:
        """withRolesGranted: a non-superuser admin borrows membership of each owner."""
        admin = self.value("SELECT current_user")
        if self.value("SELECT rolsuper FROM pg_roles WHERE rolname = %s", admin):
            body()
            return
        granted: list[str] = []
        revoked: list[str] = []
        for role in dict.fromkeys(roles):
            # grantRoleMembership/revokeRoleMembership return early when role == member.
            if role == admin or self.value(
                "SELECT rolsuper FROM pg_roles WHERE rolname = %s", role
            ):
                continue
            if self._is_member(role, admin):
                self.run(
                    sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(admin), sql.Identifier(role))
                )
                revoked.append(role)
            if not self._is_member(admin, role):
                self.run(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(admin))
                )
                granted.append(role)
        body()
        for role in granted:
            self.run(
                sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role), sql.Identifier(admin))
            )
        for role in revoked:
            self.run(sql.SQL("GRANT {} TO {}").format(sql.Identifier(admin), sql.Identifier(role)))

    def _is_member(self, member: str, group: str) -> bool:
        """isMemberOfRole; on 16+ only memberships with SET count."""
        has_set = self.value(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'pg_auth_members'::regclass"
            " AND attname = 'set_option'"
        )
        condition = " AND m.set_option" if has_set else ""
        query = (
            "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
            " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s AND g.rolname = %s"
            + condition
            + ")"
        )
        return bool(self.value(query, member, group))


def _role(ex: _Executor, inputs: dict[str, Any]) -> None:
    name = sql.Identifier(inputs["name"])
    flags = [
        ("superuser", "SUPERUSER"),
        ("createDatabase", "CREATEDB"),
        ("createRole", "CREATEROLE"),
        ("inherit", "INHERIT"),
        ("login", "LOGIN"),
        ("bypassRowLevelSecurity", "BYPASSRLS"),
        ("replication", "REPLICATION"),
    ]
    defaults = {"inherit": True}
    options = [sql.SQL("VALID UNTIL {}").format(sql.Literal(inputs.get("validUntil", "infinity")))]
    options.append(
        sql.SQL("CONNECTION LIMIT {}").format(sql.Literal(int(inputs.get("connectionLimit", -1))))
    )
    for key, keyword in flags:
        enabled = inputs.get(key, defaults.get(key, False))
        options.append(sql.SQL(keyword if enabled else f"NO{keyword}"))
    password = inputs.get("password")
    if password:
        options.insert(0, sql.SQL("ENCRYPTED PASSWORD {}").format(sql.Literal(password)))
    ex.run(
        sql.SQL("CREATE ROLE {} WITH {}").format(name, sql.SQL(" ").join(options)),
        redact=bool(password),
    )
    for group in inputs.get("roles") or []:
        ex.run(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), name))
    paths = inputs.get("searchPaths") or []
    if paths:
        ex.run(
            sql.SQL("ALTER ROLE {} SET search_path TO {}").format(
                name, sql.SQL(", ").join(map(sql.Identifier, paths))
            )
        )
    else:
        ex.run(sql.SQL("ALTER ROLE {} SET search_path TO DEFAULT").format(name))
    for key, setting in (
        ("statementTimeout", "statement_timeout"),
        ("idleInTransactionSessionTimeout", "idle_in_transaction_session_timeout"),
    ):
        if inputs.get(key):
            ex.run(
                sql.SQL("ALTER ROLE {} SET {} TO {}").format(
                    name, sql.SQL(setting), sql.Literal(int(inputs[key]))
                )
            )
    if inputs.get("assumeRole"):
        ex.run(
            sql.SQL("ALTER ROLE {} SET ROLE TO {}").format(
                name, sql.Identifier(inputs["assumeRole"])
            )
        )


def _grant_role(ex: _Executor, inputs: dict[str, Any]) -> None:
    group, member = sql.Identifier(inputs["grantRole"]), sql.Identifier(inputs["role"])
    ex.run(sql.SQL("REVOKE {} FROM {}").format(group, member))
    admin = sql.SQL(" WITH ADMIN OPTION") if inputs.get("withAdminOption") else sql.SQL("")
    ex.run(sql.SQL("GRANT {} TO {}{}").format(group, member, admin))


def _schema(ex: _Executor, inputs: dict[str, Any]) -> None:
    name, owner = inputs["name"], inputs.get("owner")
    database = inputs.get("database") or ex.value("SELECT current_database()")
    db_owner = ex.value(
        "SELECT r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = %s",
        database,
    )
    roles = [db_owner, *([owner] if owner and owner != db_owner else [])]

    def body() -> None:
        exists = ex.value("SELECT TRUE FROM pg_catalog.pg_namespace WHERE nspname = %s", name)
        if not exists:
            authorization = (
                sql.SQL(" AUTHORIZATION {}").format(sql.Identifier(owner)) if owner else sql.SQL("")
            )
            ex.run(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}{}").format(
                    sql.Identifier(name), authorization
                )
            )
        elif owner:
            ex.run(
                sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )

    ex.with_roles_granted(roles, body)


def _grantee(role: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if role.lower() == "public" else sql.Identifier(role)


def _grant(ex: _Executor, inputs: dict[str, Any]) -> None:
    role, object_type, schema = inputs["role"], inputs["objectType"], inputs.get("schema")
    objects, columns = inputs.get("objects") or [], inputs.get("columns") or []
    privileges = sorted(inputs.get("privileges") or [])
    ex.lock_role(role)
    owners = [
        ex.value("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", schema)
    ]
    if object_type != "schema":
        owners = [
            row[0]
            for row in ex.conn.execute(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = %s", (schema,)
            ).fetchall()
        ] + owners

    def body() -> None:
        for statement in grant_statements(role, object_type, schema, objects, columns, privileges):
            ex.run(statement)

    ex.with_roles_granted(owners, body)


def grant_statements(
    role: str,
    object_type: str,
    schema: str,
    objects: list[str],
    columns: list[str],
    privileges: list[str],
) -> Iterator[sql.Composable]:
    """createRevokeQuery then createGrantQuery (revoke first, so reducing privileges works)."""
    grantee = _grantee(role)
    privs = sql.SQL(",").join(sql.SQL(p) for p in privileges)
    if object_type == "schema":
        target: sql.Composable = sql.SQL("SCHEMA {}").format(sql.Identifier(schema))
        yield sql.SQL("REVOKE ALL PRIVILEGES ON {} FROM {}").format(target, grantee)
    elif object_type == "column":
        target = sql.SQL("TABLE {}").format(sql.Identifier(schema, objects[0]))
        cols = sql.SQL(",").join(map(sql.Identifier, columns))
        yield sql.SQL("REVOKE {} ({}) ON {} FROM {}").format(privs, cols, target, grantee)
        yield sql.SQL("GRANT {} ({}) ON {} TO {}").format(privs, cols, target, grantee)
        return
    elif objects:
        keyword = _OBJECT_KEYWORD[object_type]
        target = sql.SQL("{} {}").format(
            sql.SQL(keyword), sql.SQL(",").join(sql.Identifier(schema, o) for o in objects)
        )
        revoke = privs if privileges else sql.SQL("ALL PRIVILEGES")
        yield sql.SQL("REVOKE {} ON {} FROM {}").format(revoke, target, grantee)
    else:
        target = sql.SQL("ALL {}S IN SCHEMA {}").format(
            sql.SQL(_OBJECT_KEYWORD[object_type]), sql.Identifier(schema)
        )
        yield sql.SQL("REVOKE ALL PRIVILEGES ON {} FROM {}").format(target, grantee)
    if privileges:
        yield sql.SQL("GRANT {} ON {} TO {}").format(privs, target, grantee)


def _default_privileges(ex: _Executor, inputs: dict[str, Any]) -> None:
    owner, role, schema = inputs["owner"], inputs["role"], inputs.get("schema")
    objects = sql.SQL(_DEFAULT_OBJECTS[inputs["objectType"]])
    privileges = sorted(inputs.get("privileges") or [])
    prefix = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {}").format(sql.Identifier(owner))
    if schema:
        prefix = sql.SQL("{} IN SCHEMA {}").format(prefix, sql.Identifier(schema))
    ex.lock_role(owner)

    def body() -> None:
        ex.run(sql.SQL("{} REVOKE ALL ON {} FROM {}").format(prefix, objects, _grantee(role)))
        if privileges:
            privs = sql.SQL(",").join(sql.SQL(p) for p in privileges)
            ex.run(
                sql.SQL("{} GRANT {} ON {} TO {}").format(prefix, privs, objects, _grantee(role))
            )

    ex.with_roles_granted([owner], body)


HANDLERS: dict[str, Callable[[_Executor, dict[str, Any]], None]] = {
    "postgresql:index/role:Role": _role,
    "postgresql:index/grantRole:GrantRole": _grant_role,
    "postgresql:index/schema:Schema": _schema,
    "postgresql:index/grant:Grant": _grant,
    "postgresql:index/defaultPrivileges:DefaultPrivileges": _default_privileges,
}
