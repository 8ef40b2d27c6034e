"""Where the majors Supabase hosts differ, on the replayed prod stack: each test runs on every
major of the session and asserts what that major does.

PostgreSQL 17 adds the MAINTAIN privilege (ACL letter `m`: VACUUM, ANALYZE, CLUSTER, REINDEX,
REFRESH MATERIALIZED VIEW, LOCK TABLE) and the predefined role `pg_maintain`; 16 changed what
CREATEROLE does when a role creates another. The audit must read each of them right: an
owner's implicit MAINTAIN is no drift, MAINTAIN or `pg_maintain` for anyone else is reported.
On 15 (and 16) the same statements fail, and the tests say how.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from edulink_db.audit.predefined_roles import PREDEFINED_ROLES
from edulink_db.finding import Finding, Level
from edulink_db.introspect.relations import fetch_relations
from edulink_db.introspect.roles import fetch_memberships
from edulink_db.introspect.session import open_session
from edulink_db.project import Project
from tests.audit.audit_support import assert_clean, codes
from tests.audit.conftest import Audit
from tests.support.cluster import ADMIN_ROLE, BOOTSTRAP_SUPERUSER
from tests.support.deploy import Deployment, sqlstate_of

TABLE_PRIVILEGES = {"INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
NO_MAINTAIN = 'unrecognized privilege type "maintain"'
# What VACUUM and ANALYZE take. On 17 LOCK TABLE in this mode needs MAINTAIN, UPDATE, DELETE
# or TRUNCATE on the table; a column-scoped read gives none of them.
LOCK = "LOCK TABLE {} IN SHARE UPDATE EXCLUSIVE MODE"


def has_maintain(prod: Deployment) -> bool:
    return prod.cluster.major >= 17


@pytest.fixture
def superuser(prod: Deployment) -> Iterator[psycopg.Connection[Any]]:
    with prod.superuser() as conn:
        yield conn


def test_an_owners_implicit_maintain_is_not_drift(prod: Deployment, audit: Audit) -> None:
    """17 gives every table's owner MAINTAIN (`arwdDxtm`); the audit reads it as the owner's
    own and reports nothing."""
    with open_session(prod.cluster.admin_dsn(prod.database)) as session:
        relations = fetch_relations(session, ["auth_schema", "user_schema"])
    tables = [r for r in relations.values() if r.is_table]
    assert len(tables) >= 11
    expected = TABLE_PRIVILEGES | ({"MAINTAIN"} if has_maintain(prod) else set())
    for table in tables:
        held = {e.privilege for e in table.acl if e.grantee == table.owner}
        assert (table.name, held) == (table.name, expected)
        others = {e.privilege for e in table.acl if e.grantee != table.owner}
        assert "MAINTAIN" not in others, table.name
    assert_clean(audit())


def test_only_a_tables_owner_may_maintain_it(
    prod: Deployment, project: Project, superuser: psycopg.Connection[Any]
) -> None:
    """Every service tries LOCK TABLE ... SHARE UPDATE EXCLUSIVE on every table: its own
    succeed, every other fails with 42501, declared cross reads included. On 17 the catalog
    agrees (`has_table_privilege(..., 'MAINTAIN')`); before 17 it does not know MAINTAIN."""
    schemas = {s.name: s.schema.name for s in project.plan.services}
    tables = superuser.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = ANY(%s)"
        " ORDER BY 1, 2",
        [list(schemas.values())],
    ).fetchall()
    assert len(tables) >= 29
    outcomes: dict[tuple[str, str, str], str | None] = {}
    for service in schemas:
        with prod.login(service) as conn:
            for schema, table in tables:
                target = psycopg.sql.Identifier(schema, table)
                statement = psycopg.sql.SQL(LOCK).format(target).as_string(conn)
                outcomes[(service, schema, table)] = sqlstate_of(conn, statement)
    expected = {
        (service, schema, table): None if schema == schemas[service] else "42501"
        for service in schemas
        for schema, table in tables
    }
    assert outcomes == expected
    group = project.plan.service("user").group.name
    catalog = "SELECT has_table_privilege(%s, 'auth_schema.users', 'MAINTAIN')"
    if has_maintain(prod):
        assert superuser.execute(catalog, [group]).fetchone() == (False,)
        owner = project.plan.service("auth").group.name
        assert superuser.execute(catalog, [owner]).fetchone() == (True,)
    else:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="MAINTAIN"):
            superuser.execute(catalog, [group])


def test_a_maintain_grant_lets_another_service_lock_a_table_and_is_reported(
    prod: Deployment, audit: Audit, superuser: psycopg.Connection[Any]
) -> None:
    statement = LOCK.format("auth_schema.users")
    grant = "GRANT MAINTAIN ON auth_schema.users TO user_service_role"
    with prod.login("user") as user:
        assert sqlstate_of(user, statement) == "42501"
        if not has_maintain(prod):
            with pytest.raises(psycopg.errors.SyntaxError, match=NO_MAINTAIN):
                superuser.execute(grant)
            assert_clean(audit())
            return
        superuser.execute(grant)
        try:
            locked = sqlstate_of(user, statement)
            report = audit()
        finally:
            superuser.execute("REVOKE MAINTAIN ON auth_schema.users FROM user_service_role")
        assert locked is None  # it could hold off auth's own writes for as long as it likes
        assert report.findings == [
            Finding(
                code="DR08",
                level=Level.error,
                object="table auth_schema.users",
                message="user_service_role holds MAINTAIN, which the plan does not grant",
                remediation="REVOKE MAINTAIN ON TABLE auth_schema.users FROM user_service_role",
            )
        ]
        assert sqlstate_of(user, statement) == "42501"
    assert_clean(audit())


@dataclass(frozen=True)
class MaintainTamper:
    id: str
    grant: str
    revoke: str
    expected: frozenset[tuple[str, str]]


MAINTAIN_TAMPERS = [
    MaintainTamper(
        "to-the-data-api",
        "GRANT MAINTAIN ON institution_schema.institutions TO anon",
        "REVOKE MAINTAIN ON institution_schema.institutions FROM anon",
        frozenset({("SL06", "table institution_schema.institutions")}),
    ),
    MaintainTamper(
        "to-public",
        "GRANT MAINTAIN ON notification_schema.notification_templates TO PUBLIC",
        "REVOKE MAINTAIN ON notification_schema.notification_templates FROM PUBLIC",
        frozenset({("SL06", "table notification_schema.notification_templates")}),
    ),
    MaintainTamper(
        "on-future-tables-to-another-service",
        "ALTER DEFAULT PRIVILEGES FOR ROLE auth_service_role IN SCHEMA auth_schema"
        " GRANT MAINTAIN ON TABLES TO user_service_role",
        "ALTER DEFAULT PRIVILEGES FOR ROLE auth_service_role IN SCHEMA auth_schema"
        " REVOKE MAINTAIN ON TABLES FROM user_service_role",
        frozenset(
            {("DR09", "default privileges of auth_service_role in schema auth_schema on tables")}
        ),
    ),
    MaintainTamper(
        "with-grant-option-next-to-a-planned-read",
        "GRANT MAINTAIN ON auth_schema.users TO user_service_role WITH GRANT OPTION",
        "REVOKE MAINTAIN ON auth_schema.users FROM user_service_role CASCADE",
        frozenset({("DR08", "table auth_schema.users")}),
    ),
]


@pytest.mark.parametrize("case", MAINTAIN_TAMPERS, ids=lambda case: case.id)
def test_maintain_for_anyone_but_the_owner_is_reported(
    case: MaintainTamper, prod: Deployment, audit: Audit, superuser: psycopg.Connection[Any]
) -> None:
    assert_clean(audit())
    if not has_maintain(prod):
        with pytest.raises(psycopg.errors.SyntaxError, match=NO_MAINTAIN):
            superuser.execute(case.grant)
        assert_clean(audit())
        return
    superuser.execute(case.grant)
    try:
        report = audit()
    finally:
        superuser.execute(case.revoke)
    assert codes(report) == case.expected
    assert [f.code for f in report.findings if "MAINTAIN" not in f.message] == []
    assert report.not_evaluated == []
    assert_clean(audit())


def test_a_service_role_in_pg_maintain_is_reported_with_what_it_gives(
    prod: Deployment, audit: Audit, superuser: psycopg.Connection[Any]
) -> None:
    grant = "GRANT pg_maintain TO notification_service_role"
    statement = LOCK.format("auth_schema.users")
    if not has_maintain(prod):
        with pytest.raises(psycopg.errors.UndefinedObject, match='"pg_maintain" does not exist'):
            superuser.execute(grant)
        assert_clean(audit())
        return
    with prod.login("notification") as notification:
        assert sqlstate_of(notification, statement) == "42501"
        superuser.execute(grant)
        try:
            locked = sqlstate_of(notification, statement)
            report = audit()
        finally:
            superuser.execute("REVOKE pg_maintain FROM notification_service_role")
    assert locked is None  # no ACL of auth's shows it: only the membership does
    assert report.findings == [
        Finding(
            code="DR05",
            level=Level.error,
            object="role notification_service_role",
            message=(
                "is a member of pg_maintain, which the plan does not allow: it gains every "
                f"privilege of pg_maintain: {PREDEFINED_ROLES['pg_maintain']}"
            ),
            remediation="REVOKE pg_maintain FROM notification_service_role",
        )
    ]
    assert_clean(audit())


def test_the_admin_administers_the_roles_it_creates_from_16(
    prod: Deployment, project: Project, audit: Audit
) -> None:
    """16+ grants a CREATEROLE role membership WITH ADMIN OPTION (INHERIT and SET false) in
    every role it creates, granted by the bootstrap superuser; 15 grants nothing. The audit
    takes that row for what it is (no DR05), and the planned membership next to it still
    carries INHERIT and SET."""
    with open_session(prod.cluster.admin_dsn(prod.database)) as session:
        memberships = fetch_memberships(session)
    created = {r.name for s in project.plan.services for r in (s.group, s.login)}
    implicit = {
        (m.group, m.admin_option, m.inherit_option, m.set_option)
        for m in memberships
        if m.member == ADMIN_ROLE and m.group in created and m.grantor == BOOTSTRAP_SUPERUSER
    }
    planned = {
        (m.group, m.admin_option, m.inherit_option, m.set_option)
        for m in memberships
        if m.member == ADMIN_ROLE and m.group in created and m.grantor == ADMIN_ROLE
    }
    groups = {s.group.name for s in project.plan.services}
    if prod.cluster.major >= 16:
        assert implicit == {(role, True, False, False) for role in created}
        assert planned == {(group, False, True, True) for group in groups}
    else:
        assert implicit == set()
        assert planned == {(group, False, None, None) for group in groups}
    assert_clean(audit())
