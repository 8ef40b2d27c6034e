"""`run_audit`: connect, read the catalog in one read-only transaction, evaluate every rule.

The CLI calls this and maps AuditError (the audit could not run at all) to exit code 2.
"""

from __future__ import annotations

from collections.abc import Mapping

from edulink_db.audit.context import AuditContext
from edulink_db.audit.evaluate import evaluate
from edulink_db.audit.report import AuditReport, exceeds
from edulink_db.audit.rules import RULES
from edulink_db.dsn import masked_errors
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
    with (
        masked_errors(conninfo, lambda reason: AuditError(f"cannot audit the database: {reason}")),
        open_session(conninfo) as session,
    ):
        state = read_state(
            session,
            schemas=[s.schema.name for s in plan.services],
            roles=sorted({r for s in plan.services for r in (s.group.name, s.login.name)}),
        )
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
