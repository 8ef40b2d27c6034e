"""`run_inspect`: connect, read every statistics view in one read-only transaction, explain a
bounded number of top statements, then build the sections and the findings.

Like the audit: one `REPEATABLE READ READ ONLY` transaction (the server refuses any write,
and every read sees one snapshot of the statistics), each read in its own savepoint so a
view the login may not read costs that dataset only, never the run; no session state is
left behind (a pooled server session is handed back as found).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import IsolationLevel

from edulink_db.dsn import masked_errors
from edulink_db.errors import UserError
from edulink_db.finding import Finding, Level, NotEvaluated
from edulink_db.inspect.checks import evaluate
from edulink_db.inspect.fetch import (
    fetch_facts,
    fetch_indexes,
    fetch_locks,
    fetch_sessions,
    fetch_statements,
    fetch_tables,
)
from edulink_db.inspect.plans import (
    PLAN_BUDGET,
    Counted,
    LoginContext,
    explain,
    select_statements,
)
from edulink_db.inspect.reports import Section, build_sections
from edulink_db.inspect.scope import Scope
from edulink_db.inspect.snapshot import PlanCheck, ServerFacts, Snapshot, Statement
from edulink_db.inspect.thresholds import Thresholds
from edulink_db.introspect.constraints import fetch_foreign_keys
from edulink_db.introspect.policies import fetch_policies
from edulink_db.introspect.session import (
    CatalogSession,
    Datasets,
    connection_parameters,
)

APPLICATION_NAME = "edulink-db inspect"
MINIMUM_SERVER_VERSION = 150000


class InspectError(UserError):
    """The inspection could not run at all; the message never holds the password."""


@dataclass(frozen=True)
class InspectReport:
    services: tuple[str, ...]
    sections: list[Section]
    findings: list[Finding]
    not_evaluated: list[NotEvaluated]
    queries: int
    plan_queries: int
    database: str = ""
    server_version: str = ""
    user: str = ""
    statements_source: str = ""  # where statement figures came from, or why there are none
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)
    scope: Scope | None = field(default=None, repr=False, compare=False)

    def count(self, level: Level) -> int:
        return sum(1 for f in self.findings if f.level == level)


def run_inspect(conninfo: str, scope: Scope, thresholds: Thresholds) -> InspectReport:
    """Inspect the services of `scope` on the database at `conninfo`."""
    with (
        masked_errors(conninfo, lambda why: InspectError(f"cannot inspect the database: {why}")),
        _session(conninfo) as (session, conn),
    ):
        snap = read_snapshot(session, Counted(conn), scope)
    return inspect_snapshot(snap, scope, thresholds)


def inspect_snapshot(snap: Snapshot, scope: Scope, thresholds: Thresholds) -> InspectReport:
    """The pure half of run_inspect: sections and findings of a snapshot already read."""
    findings, not_evaluated = evaluate(snap, scope, thresholds)
    return InspectReport(
        services=tuple(s.name for s in scope.services),
        sections=build_sections(snap, scope),
        findings=findings,
        not_evaluated=not_evaluated,
        queries=snap.queries,
        plan_queries=snap.plan_queries,
        database=snap.session.database,
        server_version=snap.session.server_version,
        user=snap.session.current_user,
        statements_source=_statements_source(snap),
        snapshot=snap,
        scope=scope,
    )


def read_snapshot(session: CatalogSession, conn: Counted, scope: Scope) -> Snapshot:
    info = session.info()
    if info.server_version_num < MINIMUM_SERVER_VERSION:
        reason = f"PostgreSQL {info.server_version} is not supported: 15 or later is"
        names = (
            *("facts", "tables", "indexes", "foreign_keys", "sessions", "locks"),
            *("statements", "policies", "plans"),
        )
        return Snapshot(info, unavailable=dict.fromkeys(names, reason), queries=session.queries)
    datasets = Datasets("could not read {dataset}")
    unavailable, attempt = datasets.unavailable, datasets.attempt

    schemas, logins = scope.schemas, scope.logins
    facts = attempt("facts", lambda: fetch_facts(session, logins))
    tables = attempt("tables", lambda: fetch_tables(session, schemas))
    indexes = attempt("indexes", lambda: fetch_indexes(session, schemas))
    keys = attempt("foreign_keys", lambda: fetch_foreign_keys(session, schemas))
    sessions = attempt("sessions", lambda: fetch_sessions(session, logins))
    locks = attempt("locks", lambda: fetch_locks(session, schemas, logins))
    policies = attempt("policies", lambda: fetch_policies(session, schemas))
    statements: tuple[Statement, ...] | None = None
    missing = _statements_missing(facts, unavailable)
    if missing is None:
        assert facts is not None and facts.statements_schema is not None
        schema = facts.statements_schema
        statements = attempt("statements", lambda: fetch_statements(session, schema, scope.roles))
    else:
        unavailable["statements"] = missing
    plans = _plans(conn, scope, statements, policies, info.server_version_num, unavailable)
    return Snapshot(
        session=info,
        facts=facts,
        tables=tables,
        indexes=indexes,
        foreign_keys=keys,
        sessions=sessions,
        locks=locks,
        statements=statements,
        policies=policies,
        plans=plans,
        unavailable=unavailable,
        queries=session.queries + conn.queries,
        plan_queries=conn.queries,
    )


def _plans(
    conn: Counted,
    scope: Scope,
    statements: tuple[Statement, ...] | None,
    policies: Any,
    server_version: int,
    unavailable: dict[str, str],
) -> tuple[PlanCheck, ...] | None:
    if statements is None or policies is None:
        unavailable["plans"] = unavailable.get("statements") or unavailable["policies"]
        return None
    logins = {
        role: LoginContext(s.name, s.group, s.search_path) for role, s in scope.by_role.items()
    }
    chosen = select_statements(statements, logins, policies, PLAN_BUDGET)
    return tuple(explain(conn, candidate, server_version) for candidate in chosen)


def _statements_missing(facts: ServerFacts | None, unavailable: dict[str, str]) -> str | None:
    if facts is None:
        return unavailable.get("facts", "the server's settings could not be read")
    if facts.statements_schema is None:
        return (
            "pg_stat_statements is not installed in this database (CREATE EXTENSION "
            "pg_stat_statements; Supabase has it in schema extensions): statement figures "
            "and plans of top statements are not available"
        )
    if not facts.statements_loaded:
        return (
            "pg_stat_statements is installed but its library is not loaded "
            "(shared_preload_libraries): statement figures are not available"
        )
    return None


def _statements_source(snap: Snapshot) -> str:
    if snap.statements is not None and snap.facts is not None:
        return f"{snap.facts.statements_schema}.pg_stat_statements"
    return snap.unavailable.get("statements", "")


@contextmanager
def _session(conninfo: str) -> Iterator[tuple[CatalogSession, psycopg.Connection[Any]]]:
    params = connection_parameters(conninfo)
    params["application_name"] = APPLICATION_NAME
    with psycopg.connect(prepare_threshold=None, **params) as conn:
        conn.read_only = True
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction(force_rollback=True):
            yield CatalogSession(conn), conn


def exceeds(report: InspectReport, fail_on: Level | str, *, fail_on_unknown: bool = True) -> bool:
    """As for the audit: a finding at or above `fail_on`, or anything not evaluated unless
    the caller opts out knowingly."""
    threshold = Level(fail_on)
    if any(f.level >= threshold for f in report.findings):
        return True
    return fail_on_unknown and bool(report.not_evaluated)
