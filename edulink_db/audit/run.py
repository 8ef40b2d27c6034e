"""`run_audit`: connect, read the catalog in one read-only transaction, evaluate every rule.

The CLI calls this and maps AuditError (the audit could not run at all) to exit code 2.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg.conninfo import conninfo_to_dict

from edulink_db.audit.context import AuditContext
from edulink_db.audit.evaluate import evaluate
from edulink_db.audit.report import AuditReport, exceeds
from edulink_db.audit.rules import RULES
from edulink_db.errors import UserError
from edulink_db.introspect.read import read_state
from edulink_db.introspect.session import open_session
from edulink_db.introspect.state import DatabaseState
from edulink_db.migrations.ddl import SchemaShape
from edulink_db.plan.model import AccessPlan

__all__ = ["AuditError", "AuditReport", "exceeds", "run_audit"]


class AuditError(UserError):
    """The audit could not run: the database is unreachable, refuses the login, or the
    connection string is malformed. The message never contains the password."""


def run_audit(
    conninfo: str, plan: AccessPlan, shapes: Mapping[str, SchemaShape], stack: str = ""
) -> AuditReport:
    """Audit the database at `conninfo` against `plan` (of `stack`); `shapes` are the tables
    each service's migrations create, by service name (LoadedCatalogue.shapes)."""
    secret = _password(conninfo)
    try:
        with open_session(conninfo) as session:
            state = read_state(
                session,
                schemas=[s.schema.name for s in plan.services],
                roles=sorted({r for s in plan.services for r in (s.group.name, s.login.name)}),
            )
    except psycopg.Error as error:
        raise AuditError(f"cannot audit the database: {_scrub(error, secret)}") from None
    return audit_state(state, plan, shapes, stack)


def audit_state(
    state: DatabaseState, plan: AccessPlan, shapes: Mapping[str, SchemaShape], stack: str = ""
) -> AuditReport:
    """Evaluate every rule on a state already read (the pure half of run_audit)."""
    findings, not_evaluated = evaluate(AuditContext(plan, shapes, state))
    return AuditReport(
        findings=findings,
        not_evaluated=not_evaluated,
        queries=state.queries,
        database=state.session.database,
        server_version=state.session.server_version,
        user=state.session.current_user,
        rules=[rule.code for rule in RULES],
        stack=stack,
    )


def _password(conninfo: str) -> str | None:
    try:
        password = conninfo_to_dict(conninfo).get("password")
    except psycopg.ProgrammingError:
        # The parser's message may quote the string, password included: say nothing of it.
        raise AuditError(
            "cannot audit the database: the connection string is not valid "
            "(expected a postgresql:// URL or key=value pairs)"
        ) from None
    return None if password is None else str(password)


def _scrub(error: psycopg.Error, secret: str | None) -> str:
    message = str(error).strip() or type(error).__name__
    if secret:
        message = message.replace(secret, "***")
    return message
