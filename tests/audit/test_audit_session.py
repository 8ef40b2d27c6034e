"""How the audit reads: one read-only snapshot, a fixed number of queries, and no pass where
it could not look."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from dataclasses import replace

import psycopg
import pytest
from psycopg import sql

from edulink_db.audit.context import AuditContext
from edulink_db.audit.evaluate import evaluate
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.audit.rules import RULES
from edulink_db.audit.run import AuditError, run_audit
from edulink_db.errors import UserError
from edulink_db.finding import Finding, Level, NotEvaluated
from edulink_db.introspect import read as read_module
from edulink_db.introspect.read import read_state
from edulink_db.introspect.session import open_session
from edulink_db.project import Project
from tests.audit.audit_support import assert_clean, codes
from tests.audit.conftest import Audit
from tests.support.deploy import Deployment

AUDITOR = "edulink_auditor"
AUDITOR_PASSWORD = "auditor-pw-Zt4"


def service_scope(project: Project) -> tuple[list[str], list[str]]:
    plan = project.plan
    schemas = [s.schema.name for s in plan.services]
    roles = sorted({r.name for s in plan.services for r in (s.group, s.login)})
    return schemas, roles


def test_the_audit_reads_one_snapshot_in_a_read_only_transaction(
    prod: Deployment, project: Project
) -> None:
    """The admin could create a table in auth_schema (it is a member of the group), but not
    from the audit's session: the server refuses any write in it. Rules cannot even try:
    they are functions of the DatabaseState and never see the connection."""
    schemas, roles = service_scope(project)
    with open_session(prod.cluster.admin_dsn(prod.database)) as session:
        state = read_state(session, schemas, roles)
        assert state.session.transaction_read_only is True
        assert state.session.transaction_isolation == "repeatable read"
        may_create = session.rows(sql.SQL("SELECT has_schema_privilege('auth_schema', 'CREATE')"))
        assert may_create == [(True,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            session.rows(sql.SQL("CREATE TABLE auth_schema.audit_was_here (id int)"))
        # The refused write cost one savepoint, not the session.
        assert session.rows(sql.SQL("SELECT current_setting('search_path')")) == [("pg_catalog",)]
    with prod.superuser() as conn:
        assert conn.execute("SELECT to_regclass('auth_schema.audit_was_here')").fetchone() == (
            None,
        )


def test_the_number_of_queries_does_not_grow_with_schemas_or_tables(
    prod: Deployment, project: Project, audit: Audit
) -> None:
    baseline = audit()
    assert baseline.queries == 11
    one_service = replace(project.plan, services=project.plan.services[:1])
    shapes = project.catalogue.shapes
    alone = run_audit(prod.cluster.admin_dsn(prod.database), one_service, shapes)
    with prod.superuser() as conn:
        for n in range(5):
            conn.execute(f"CREATE SCHEMA extra_{n}")
            for t in range(20):
                conn.execute(f"CREATE TABLE extra_{n}.t{t} (id int PRIMARY KEY, ref int)")
        for t in range(15):
            conn.execute(
                f"CREATE TABLE auth_schema.extra_{t} (id int PRIMARY KEY,"
                f" user_id uuid REFERENCES auth_schema.users (id))"
            )
        try:
            crowded = audit()
        finally:
            for n in range(5):
                conn.execute(f"DROP SCHEMA extra_{n} CASCADE")
            for t in range(15):
                conn.execute(f"DROP TABLE auth_schema.extra_{t}")
    assert alone.queries == crowded.queries == baseline.queries
    # ... and the extra tables were seen: made by the superuser, without an index on user_id.
    found = codes(crowded)
    assert {o for c, o in found if c == "DR16"} == {
        f"table auth_schema.extra_{t}" for t in range(15)
    }
    assert len([1 for c, _ in found if c == "SL04"]) == 15
    assert_clean(audit())


@pytest.fixture
def auditor(prod: Deployment) -> Iterator[str]:
    """A login that may read settings and nothing of the services' schemas."""
    with prod.superuser() as conn:
        conn.execute(
            f"CREATE ROLE {AUDITOR} LOGIN PASSWORD '{AUDITOR_PASSWORD}' IN ROLE pg_read_all_settings"
        )
    try:
        yield prod.cluster.dsn(AUDITOR, AUDITOR_PASSWORD, prod.database)
    finally:
        with prod.superuser() as conn:
            conn.execute(f"DROP ROLE {AUDITOR}")


def test_a_read_only_auditor_sees_the_catalog_but_reports_the_history_it_cannot_read(
    prod: Deployment, project: Project, audit: Audit, auditor: str
) -> None:
    """PostgreSQL's catalogs are readable by every role (pg_class, pg_roles with rolconfig,
    pg_auth_members, pg_policy and pg_get_expr, pg_default_acl, pg_proc): a role with no
    access to the services' schemas still sees every grant, policy, owner and setting, and
    finds the same drift. What it cannot see is data: the migration history tables need
    USAGE on the schema and SELECT. Those checks are reported as not evaluated, per schema
    — never as passed."""
    with prod.superuser() as conn:
        conn.execute("GRANT SELECT (password_hash) ON auth_schema.users TO user_service_role")
        try:
            report = audit(auditor)
        finally:
            conn.execute(
                "REVOKE SELECT (password_hash) ON auth_schema.users FROM user_service_role"
            )
    assert codes(report) == {("DR08", "column auth_schema.users.password_hash")}
    schemas, _ = service_scope(project)
    assert report.not_evaluated == [
        NotEvaluated(
            "DR17",
            f"table {schema}.edulink_migrations",
            f"{AUDITOR} may not read {schema}.edulink_migrations (it needs USAGE on schema "
            f"{schema} and SELECT on the table)",
        )
        for schema in sorted(schemas)
    ]
    assert report.queries == 10  # no history table to read: the one query it skips


def test_a_catalog_the_auditor_may_not_read_makes_its_rules_not_evaluated(
    prod: Deployment, audit: Audit, auditor: str
) -> None:
    """A hardened database may revoke a catalog from PUBLIC; every rule that needs it then
    says it could not look, with the server's reason, and the others still run."""
    with prod.superuser() as conn:
        conn.execute("REVOKE SELECT ON pg_catalog.pg_policy FROM PUBLIC")
        conn.execute("ALTER TABLE auth_schema.users NO FORCE ROW LEVEL SECURITY")
        try:
            report = audit(auditor)
        finally:
            conn.execute("GRANT SELECT ON pg_catalog.pg_policy TO PUBLIC")
            conn.execute("ALTER TABLE auth_schema.users FORCE ROW LEVEL SECURITY")
    assert codes(report) == {("DR10", "table auth_schema.users")}
    unreadable = {n.code for n in report.not_evaluated if "pg_policy" in n.reason}
    assert unreadable == {"DR12", "DR13", "DR14", "RL06", "SL01", "SL02"}
    assert {n.code for n in report.not_evaluated} == unreadable | {"DR17"}
    assert all(
        n.reason == "could not read the catalog (policies): permission denied for table pg_policy"
        for n in report.not_evaluated
        if n.code in unreadable
    )


def test_an_unsupported_server_evaluates_nothing_and_says_so(
    prod: Deployment, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test servers are 15 and 17 (16 when selected); pretend the minimum is above them."""
    monkeypatch.setattr(read_module, "MINIMUM_SERVER_VERSION", 990000)
    report = run_audit(
        prod.cluster.admin_dsn(prod.database), project.plan, project.catalogue.shapes
    )
    assert report.findings == []
    assert [n.code for n in report.not_evaluated] == sorted(rule.code for rule in RULES)
    assert all(
        n.reason.startswith(f"PostgreSQL {report.server_version} is not supported")
        for n in report.not_evaluated
    )
    assert report.queries == 1


class _Crashing(Rule):
    """A rule with a bug."""

    code = "XX99"
    name = "test.crashing"
    level = Level.warning

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        yield self.finding("role nobody", "found before the bug", "none")
        raise ZeroDivisionError("division by zero")


def test_a_rule_that_crashes_is_reported_not_silent(prod: Deployment, project: Project) -> None:
    schemas, roles = service_scope(project)
    with open_session(prod.cluster.admin_dsn(prod.database)) as session:
        state = read_state(session, schemas, roles)
    rules: Sequence[Rule] = (_Crashing(), *RULES)
    findings, skipped = evaluate(AuditContext(project.plan, project.catalogue.shapes, state), rules)
    assert findings == [
        Finding("XX99", Level.warning, "role nobody", "found before the bug", "none")
    ]
    assert skipped == [
        NotEvaluated(
            "XX99",
            f"database {prod.database}",
            "the rule failed: ZeroDivisionError: division by zero",
        )
    ]


def test_a_service_without_a_table_list_is_not_evaluated_for_tables(
    prod: Deployment, project: Project
) -> None:
    shapes = {k: v for k, v in project.catalogue.shapes.items() if k != "auth"}
    report = run_audit(prod.cluster.admin_dsn(prod.database), project.plan, shapes)
    assert report.findings == []
    assert {(n.code, n.object) for n in report.not_evaluated} == {
        ("DR11", "schema auth_schema"),
        ("DR15", "schema auth_schema"),
        ("DR16", "schema auth_schema"),
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("problem", ["unreachable", "wrong-password", "malformed"])
def test_an_audit_that_cannot_run_raises_a_user_error_without_the_password(
    problem: str, prod: Deployment, project: Project
) -> None:
    secret = "Sup3r-Secret-Pw-8472"
    dsn = {
        "unreachable": f"host=127.0.0.1 port={_closed_port()} user=postgres password={secret}"
        " dbname=x connect_timeout=3",
        "wrong-password": prod.cluster.dsn("postgres", secret, prod.database),
        "malformed": f"host=127.0.0.1 password={secret} this-is-not-a-pair",
    }[problem]
    with pytest.raises(AuditError) as raised:
        run_audit(dsn, project.plan, project.catalogue.shapes)
    message = str(raised.value)
    assert isinstance(raised.value, UserError)
    assert message.startswith("cannot audit the database: ")
    assert secret not in message
    assert raised.value.__suppress_context__  # a traceback would not show psycopg's text
    expected = {
        "unreachable": "Connection refused",
        "wrong-password": 'password authentication failed for user "postgres"',
        "malformed": "the connection string is not valid",
    }[problem]
    assert expected in message
