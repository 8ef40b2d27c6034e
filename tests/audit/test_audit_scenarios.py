"""The audit on the replayed prod stack: clean, then one tamper at a time.

Scenario shape from ldap2pg: clean → tamper → exactly the expected (code, object) → restore
→ clean again. Every tamper is what a person with the admin's or a service's login could do
by hand; each restore puts back exactly what the platform made, so the module's single
deployment stays clean between scenarios (the first assertion of each scenario checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql

from edulink_db.audit.rules import RULES
from edulink_db.finding import Finding, Level
from edulink_db.project import Project
from edulink_db.rls.statements import create_policy
from tests.audit.audit_support import assert_clean, codes
from tests.audit.conftest import Audit
from tests.support.deploy import Deployment

Statement = str | Callable[[Project, Deployment], Sequence[sql.Composable]]


@dataclass(frozen=True)
class Step:
    """SQL run as the real superuser (`as_=None`) or as a service's login role."""

    statements: tuple[Statement, ...]
    as_: str | None = None


def su(*statements: Statement) -> Step:
    return Step(statements)


def as_service(service: str, *statements: Statement) -> Step:
    return Step(statements, service)


@dataclass(frozen=True)
class Scenario:
    id: str
    tamper: tuple[Step, ...]
    restore: tuple[Step, ...]
    expected: frozenset[tuple[str, str]]
    why: str = field(default="", compare=False)


def scenario(
    id: str, tamper: Step | tuple[Step, ...], restore: Step | tuple[Step, ...], *expected: str
) -> Scenario:
    """`expected` as "CODE object" strings."""
    pairs = frozenset((code, object) for code, object in (e.split(" ", 1) for e in expected))
    return Scenario(id, _steps(tamper), _steps(restore), pairs)


def _steps(steps: Step | tuple[Step, ...]) -> tuple[Step, ...]:
    return steps if isinstance(steps, tuple) else (steps,)


def recreate_login(service: str) -> Callable[[Project, Deployment], list[sql.Composable]]:
    """The login role as the platform made it, from the plan (and the recorded password)."""

    def build(project: Project, prod: Deployment) -> list[sql.Composable]:
        plan = project.plan.service(service)
        role, name = plan.login, sql.Identifier(plan.login.name)
        return [
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {} PASSWORD {}").format(
                name, sql.Literal(role.connection_limit), sql.Literal(prod.login_password(service))
            ),
            sql.SQL("ALTER ROLE {} SET search_path = {}").format(
                name, sql.Literal(role.search_path[0])
            ),
            sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                name, sql.Literal(role.statement_timeout_ms)
            ),
            sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = {}").format(
                name, sql.Literal(role.idle_in_transaction_session_timeout_ms)
            ),
            sql.SQL("ALTER ROLE {} SET role = {}").format(name, sql.Literal(role.assume_role)),
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(plan.group.name), name),
        ]

    return build


def planned_policy(
    service: str, table: str, name: str
) -> Callable[[Project, Deployment], list[sql.Composable]]:
    def build(project: Project, prod: Deployment) -> list[sql.Composable]:
        policy = next(
            p
            for s in project.plan.services
            for p in s.policies
            if (p.service, p.table, p.name) == (service, table, name)
        )
        return [create_policy(policy)]

    return build


def applied_checksum(service: str) -> Callable[[Project, Deployment], list[sql.Composable]]:
    def build(project: Project, prod: Deployment) -> list[sql.Composable]:
        plan = project.plan.service(service)
        step = plan.migrations.steps[0]
        return [
            sql.SQL("UPDATE {} SET checksum = {} WHERE version = {}").format(
                sql.Identifier(plan.schema.name, "edulink_migrations"),
                sql.Literal(step.checksum),
                sql.Literal(step.version),
            )
        ]

    return build


SCENARIOS = [
    # -- roles ---------------------------------------------------------------------------
    scenario(
        "login-role-dropped",
        su("DROP ROLE internship_service"),
        su(recreate_login("internship")),
        "DR01 role internship_service",
    ),
    scenario(
        "role-named-like-a-service",
        su("CREATE ROLE payment_service_role NOLOGIN"),
        su("DROP ROLE payment_service_role"),
        "DR02 role payment_service_role",
    ),
    scenario(
        "connection-limit",
        su("ALTER ROLE auth_service CONNECTION LIMIT 50"),
        su("ALTER ROLE auth_service CONNECTION LIMIT 10"),
        "DR03 role auth_service",
    ),
    scenario(
        "statement-timeout",
        su("ALTER ROLE auth_service SET statement_timeout = 0"),
        su("ALTER ROLE auth_service SET statement_timeout = 5000"),
        "DR04 role auth_service",
    ),
    scenario(
        "search-path-for-this-database-only",
        su("ALTER ROLE user_service IN DATABASE {database} SET search_path = public"),
        su("ALTER ROLE user_service IN DATABASE {database} RESET search_path"),
        "DR04 role user_service",
    ),
    scenario(
        "extra-member-of-a-group",
        su("GRANT auth_service_role TO user_service"),
        su("REVOKE auth_service_role FROM user_service"),
        "DR05 role auth_service_role",
    ),
    scenario(
        "service-role-member-of-pg_read_all_data",
        su("GRANT pg_read_all_data TO notification_service_role"),
        su("REVOKE pg_read_all_data FROM notification_service_role"),
        "DR05 role notification_service_role",
    ),
    scenario(
        "login-no-longer-member-of-its-group",
        su("REVOKE user_service_role FROM user_service GRANTED BY postgres"),
        su("GRANT user_service_role TO user_service GRANTED BY postgres"),
        "DR05 role user_service_role",
    ),
    scenario(
        "bypassrls",
        su("ALTER ROLE auth_service BYPASSRLS"),
        su("ALTER ROLE auth_service NOBYPASSRLS"),
        "SL07 role auth_service",
    ),
    scenario(
        "createrole-helper-acting-as-a-service",
        su("CREATE ROLE helper NOLOGIN CREATEROLE", "GRANT auth_service_role TO helper"),
        su("DROP ROLE helper"),
        "DR05 role auth_service_role",
        "SL07 role helper",
    ),
    # -- ownership and privileges --------------------------------------------------------
    scenario(
        "table-owned-by-the-login-role",
        su("ALTER TABLE institution_schema.institution_settings OWNER TO institution_service"),
        su("ALTER TABLE institution_schema.institution_settings OWNER TO institution_service_role"),
        "DR06 table institution_schema.institution_settings",
    ),
    scenario(
        "schema-usage-to-another-service",
        su("GRANT USAGE ON SCHEMA internship_schema TO notification_service_role"),
        su("REVOKE USAGE ON SCHEMA internship_schema FROM notification_service_role"),
        "DR07 schema internship_schema",
    ),
    scenario(
        "planned-schema-usage-revoked",
        su("REVOKE USAGE ON SCHEMA auth_schema FROM user_service_role"),
        su("GRANT USAGE ON SCHEMA auth_schema TO user_service_role"),
        "DR07 schema auth_schema",
    ),
    scenario(
        # Column-scoped: a table-level REVOKE would also take the planned column grants.
        "secret-column-granted-to-another-service",
        su("GRANT SELECT (password_hash) ON auth_schema.users TO user_service_role"),
        su("REVOKE SELECT (password_hash) ON auth_schema.users FROM user_service_role"),
        "DR08 column auth_schema.users.password_hash",
    ),
    scenario(
        # A table nobody reads: revoking the table grant takes nothing planned with it.
        "whole-table-granted-to-another-service",
        su("GRANT SELECT ON notification_schema.notification_templates TO internship_service_role"),
        su(
            "REVOKE SELECT ON notification_schema.notification_templates"
            " FROM internship_service_role"
        ),
        "DR08 table notification_schema.notification_templates",
    ),
    scenario(
        "planned-column-grant-revoked",
        su("REVOKE SELECT (email) ON auth_schema.users FROM user_service_role"),
        su("GRANT SELECT (email) ON auth_schema.users TO user_service_role"),
        "DR08 column auth_schema.users.email",
    ),
    scenario(
        "public-execute-on-new-functions-is-back",
        su(
            "ALTER DEFAULT PRIVILEGES FOR ROLE auth_service_role GRANT EXECUTE ON FUNCTIONS TO PUBLIC"
        ),
        su(
            "ALTER DEFAULT PRIVILEGES FOR ROLE auth_service_role"
            " REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"
        ),
        "DR09 default privileges of auth_service_role on functions",
    ),
    scenario(
        "default-select-on-future-tables",
        su(
            "ALTER DEFAULT PRIVILEGES FOR ROLE auth_service_role IN SCHEMA auth_schema"
            " GRANT SELECT ON TABLES TO user_service_role"
        ),
        su(
            "ALTER DEFAULT PRIVILEGES FOR ROLE auth_service_role IN SCHEMA auth_schema"
            " REVOKE SELECT ON TABLES FROM user_service_role"
        ),
        "DR09 default privileges of auth_service_role in schema auth_schema on tables",
    ),
    scenario(
        "public-schema-usage",
        su("GRANT USAGE ON SCHEMA institution_schema TO PUBLIC"),
        su("REVOKE USAGE ON SCHEMA institution_schema FROM PUBLIC"),
        "SL06 schema institution_schema",
    ),
    scenario(
        "table-granted-to-anon",
        su("GRANT SELECT ON institution_schema.institutions TO anon"),
        su("REVOKE SELECT ON institution_schema.institutions FROM anon"),
        "SL06 table institution_schema.institutions",
    ),
    # -- row-level security --------------------------------------------------------------
    scenario(
        "rls-disabled",
        su("ALTER TABLE auth_schema.users DISABLE ROW LEVEL SECURITY"),
        su("ALTER TABLE auth_schema.users ENABLE ROW LEVEL SECURITY"),
        "DR10 table auth_schema.users",
    ),
    scenario(
        "rls-no-force",
        su("ALTER TABLE auth_schema.users NO FORCE ROW LEVEL SECURITY"),
        su("ALTER TABLE auth_schema.users FORCE ROW LEVEL SECURITY"),
        "DR10 table auth_schema.users",
    ),
    scenario(
        "rls-on-a-table-the-catalogue-leaves-open",
        su("ALTER TABLE institution_schema.institutions ENABLE ROW LEVEL SECURITY"),
        su("ALTER TABLE institution_schema.institutions DISABLE ROW LEVEL SECURITY"),
        "DR11 table institution_schema.institutions",
        "SL01 table institution_schema.institutions",
    ),
    scenario(
        "reader-policy-dropped",
        su("DROP POLICY user_service_role_read ON auth_schema.users"),
        su(planned_policy("auth", "users", "user_service_role_read")),
        "DR12 policy user_service_role_read on auth_schema.users",
    ),
    scenario(
        "extra-policy",
        su(
            "CREATE POLICY debug ON auth_schema.users FOR SELECT TO institution_service_role"
            " USING (true)"
        ),
        su("DROP POLICY debug ON auth_schema.users"),
        "DR13 policy debug on auth_schema.users",
    ),
    scenario(
        "reader-policy-shows-deleted-profiles",
        su("ALTER POLICY notification_service_role_read ON user_schema.user_profiles USING (true)"),
        su(
            "ALTER POLICY notification_service_role_read ON user_schema.user_profiles"
            " USING (deleted_at IS NULL)"
        ),
        "DR14 policy notification_service_role_read on user_schema.user_profiles",
    ),
    scenario(
        "reader-policy-given-to-another-role",
        su("ALTER POLICY user_service_role_read ON auth_schema.users TO institution_service_role"),
        su("ALTER POLICY user_service_role_read ON auth_schema.users TO user_service_role"),
        "DR14 policy user_service_role_read on auth_schema.users",
    ),
    scenario(
        "policy-on-a-table-without-rls",
        su(
            "CREATE POLICY institutions_open ON institution_schema.institutions FOR SELECT"
            " TO institution_service_role USING (true)"
        ),
        su("DROP POLICY institutions_open ON institution_schema.institutions"),
        "DR13 policy institutions_open on institution_schema.institutions",
        "SL02 table institution_schema.institutions",
    ),
    scenario(
        "policy-calling-auth-uid-per-row",
        su(
            "CREATE POLICY own_profile ON user_schema.user_profiles FOR SELECT"
            " TO user_service_role USING (user_id = auth.uid())"
        ),
        su("DROP POLICY own_profile ON user_schema.user_profiles"),
        "DR13 policy own_profile on user_schema.user_profiles",
        "RL06 policy own_profile on user_schema.user_profiles",
    ),
    # -- tables and migrations -----------------------------------------------------------
    scenario(
        "table-renamed-by-hand",
        su(
            "ALTER TABLE institution_schema.institution_settings RENAME TO institution_settings_old"
        ),
        su(
            "ALTER TABLE institution_schema.institution_settings_old RENAME TO institution_settings"
        ),
        "DR15 table institution_schema.institution_settings",
        "DR16 table institution_schema.institution_settings_old",
    ),
    scenario(
        "table-created-by-the-service",
        as_service("notification", "CREATE TABLE scratch (id int PRIMARY KEY)"),
        as_service("notification", "DROP TABLE scratch"),
        "DR16 table notification_schema.scratch",
    ),
    scenario(
        "locked-table-created-by-the-service",
        as_service(
            "institution",
            "CREATE TABLE locked (id int PRIMARY KEY)",
            "ALTER TABLE locked ENABLE ROW LEVEL SECURITY",
        ),
        as_service("institution", "DROP TABLE locked"),
        "DR16 table institution_schema.locked",
        "SL01 table institution_schema.locked",
    ),
    scenario(
        "applied-migration-edited",
        su("UPDATE auth_schema.edulink_migrations SET checksum = 'edited' WHERE version = 1"),
        su(applied_checksum("auth")),
        "DR17 table auth_schema.edulink_migrations",
    ),
    scenario(
        "foreign-key-without-index-added-by-the-service",
        as_service(
            "notification",
            "ALTER TABLE notification_templates"
            " ADD COLUMN fallback_channel_id uuid REFERENCES notification_channels (id)",
        ),
        as_service(
            "notification", "ALTER TABLE notification_templates DROP COLUMN fallback_channel_id"
        ),
        "SL04 table notification_schema.notification_templates",
    ),
    scenario(
        "security-definer-function-created-by-the-service",
        as_service(
            "notification",
            "CREATE FUNCTION queue_depth() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
            " AS $$ SELECT count(*) FROM notification_queue $$",
        ),
        as_service("notification", "DROP FUNCTION queue_depth()"),
        "SL05 function notification_schema.queue_depth()",
    ),
]


def run_steps(steps: Sequence[Step], prod: Deployment, project: Project) -> None:
    for step in steps:
        if step.as_ is None:
            conn = prod.superuser()
        else:
            dsn = prod.login_dsn(step.as_, project.plan.service(step.as_).login.name)
            conn = psycopg.connect(dsn, autocommit=True)
        with conn:
            for statement in step.statements:
                for query in _queries(statement, prod, project):
                    conn.execute(query)


def _queries(statement: Statement, prod: Deployment, project: Project) -> Sequence[Any]:
    if callable(statement):
        return statement(project, prod)
    return [statement.replace("{database}", prod.database).encode()]


@pytest.mark.parametrize("case", SCENARIOS, ids=lambda s: s.id)
def test_a_tamper_is_reported_exactly_and_its_restore_is_clean(
    case: Scenario, prod: Deployment, project: Project, audit: Audit
) -> None:
    assert_clean(audit())
    try:
        run_steps(case.tamper, prod, project)
        report = audit()
    finally:
        run_steps(case.restore, prod, project)
    assert codes(report) == case.expected
    assert report.not_evaluated == []
    assert_clean(audit())


def test_the_replayed_prod_stack_is_clean(audit: Audit) -> None:
    report = audit()
    assert_clean(report)
    assert report.rules == [rule.code for rule in RULES]


def test_a_secret_column_grant_reads_as_a_person_would_fix_it(
    prod: Deployment, audit: Audit
) -> None:
    with prod.superuser() as conn:
        conn.execute("GRANT SELECT (password_hash) ON auth_schema.users TO user_service_role")
        try:
            report = audit()
        finally:
            conn.execute(
                "REVOKE SELECT (password_hash) ON auth_schema.users FROM user_service_role"
            )
    assert report.findings == [
        Finding(
            code="DR08",
            level=Level.error,
            object="column auth_schema.users.password_hash",
            message="user_service_role holds SELECT, which the plan does not grant",
            remediation=(
                "REVOKE SELECT (password_hash) ON TABLE auth_schema.users FROM user_service_role"
            ),
        )
    ]


def test_every_rule_has_a_scenario_that_makes_it_fire() -> None:
    """Pass cases are the clean prod audit; here, a fail case per registered code."""
    fired = {code for case in SCENARIOS for code, _ in case.expected}
    assert fired == {rule.code for rule in RULES}
