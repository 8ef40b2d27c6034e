"""RL06 is one rule: the policy pack (at preview) and the audit (on the live database) read a
policy expression the same way. One case table, run through the pack's rule and the audit's
rule; each case says why the expression is or is not flagged."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from edulink_policies.registry import BY_CODE
from edulink_policies.resources import ROW_LEVEL_SECURITY
from policy_harness import R, run_direct

from edulink_db.audit.context import AuditContext
from edulink_db.audit.evaluate import evaluate
from edulink_db.audit.rules import RULES
from edulink_db.introspect.state import DatabaseState, LivePolicy, SessionInfo
from edulink_db.plan.model import AccessPlan

SCHEMA, TABLE, POLICY, ROLE = "svc_schema", "notes", "own_notes", "svc_service_role"
OBJECT = f"policy {POLICY} on {SCHEMA}.{TABLE}"  # how both sides name it


class Case(NamedTuple):
    expression: str
    calls: tuple[str, ...]  # the calls flagged, () when it passes
    why: str


CASES = (
    Case("true", (), "no call at all"),
    Case("id = current_setting('a.b')::uuid", ("current_setting()",), "a bare call, per row"),
    Case("id = (select current_setting('a.b'))::uuid", (), "wrapped: one InitPlan"),
    Case(
        "id = coalesce((select nullif(current_setting('a.b', true), '')::uuid), id)",
        (),
        "deep inside a sub-select is wrapped",
    ),
    Case(
        "(select auth.email()) = a or auth.email() = b",
        ("auth.email()",),
        "every call must be wrapped, not one of them",
    ),
    Case(
        "auth.uid() = owner and current_setting('a.b') = 'x' and auth.uid() <> a",
        ("auth.uid()", "current_setting()"),
        "each function named once, sorted",
    ),
    Case("owner = AUTH.UID()", ("auth.uid()",), "unquoted names fold to lower case"),
    Case("\"auth\".\"jwt\"() ->> 'r' = 'x'", ("auth.jwt()",), "quoted lower case: same function"),
    Case('owner = "AUTH"."UID"()', (), "quoted upper case is another function"),
    Case("current_setting(name) = 'x'", (), "a column argument: the value differs per row"),
    Case(
        "pg_catalog.current_setting('a.b') = 'x'",
        ("pg_catalog.current_setting()",),
        "qualified by the catalog, named as written",
    ),
)

# Text that is not one expression: the pack reports it, the audit reports that it could not
# evaluate (PostgreSQL never renders such a policy, so only a tampered plan has one).
UNREADABLE = (
    Case("true, false", (), "must be exactly one expression"),
    Case("true); select (1", (), "does not parse"),
)


def pack(expression: str) -> list[str]:
    policy = {
        "schema": SCHEMA,
        "table": TABLE,
        "name": POLICY,
        "command": "select",
        "permissive": True,
        "roles": [ROLE],
        "using": expression,
    }
    tables = [{"schema": SCHEMA, "table": TABLE, "owner": ROLE}]
    resource = R(
        ROW_LEVEL_SECURITY,
        "svc-row-level-security",
        {"service": "svc", "tables": tables, "policies": [policy]},
    )
    return [r.message for r in run_direct(BY_CODE["RL06"], resource)]


def audit(expression: str) -> tuple[list[str], list[str]]:
    """The audit's RL06 on a database holding one policy: (findings, not evaluated)."""
    live = LivePolicy(SCHEMA, TABLE, POLICY, "select", True, (ROLE,), expression, None)
    session = SessionInfo(
        170000, "17.0", "auditor", "auditor", "db", True, "repeatable read", False
    )
    plan = AccessPlan("db", "admin", protected=False, disposable=True, services=())
    context = AuditContext(plan, {}, DatabaseState(session, policies=(live,)))
    [rule] = [r for r in RULES if r.code == "RL06"]
    findings, skipped = evaluate(context, [rule])
    assert all(f.object == OBJECT for f in findings)
    return [f.message for f in findings], [s.reason for s in skipped]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.why)
def test_the_pack_and_the_audit_flag_the_same_calls(case: Case) -> None:
    expected = f"USING calls {', '.join(case.calls)} once per row"
    found = pack(case.expression)
    if case.calls:
        assert len(found) == 1 and found[0].startswith(
            f"RL06 {OBJECT}: {expected} (splinter 0003"
        ), found
    else:
        assert found == []
    assert audit(case.expression) == ([expected] if case.calls else [], [])


@pytest.mark.parametrize("case", UNREADABLE, ids=lambda c: c.why)
def test_neither_side_passes_what_it_cannot_read(case: Case) -> None:
    [reported] = pack(case.expression)
    assert reported.startswith(f"RL06 {OBJECT}: USING {case.why}"), reported
    findings, skipped = audit(case.expression)
    assert findings == [] and len(skipped) == 1 and case.why in skipped[0], skipped
