"""Policy expressions call auth.uid()/jwt()/role()/email() and current_setting() as (select ...).

Why: a bare `current_setting('x')` or `auth.uid()` in USING / WITH CHECK is evaluated for every
row; wrapped as `(select current_setting('x'))` PostgreSQL plans it as an InitPlan and
evaluates it once per statement. On large tables that is the difference between an index scan
and a timeout. The check of splinter 0003 auth_rls_initplan, on the parse tree (pglast)
rather than on the text: every call must sit inside a sub-select, not just one of them, and a
call deeper inside one (`(select nullif(current_setting('x', true), '')::uuid)`) counts as
wrapped, which splinter's `select auth.uid()` text match would miss. A call with a column
among its arguments (`current_setting(name)`) differs per row and is left alone, and a quoted
`"AUTH"."UID"()` is another function. The reading is the core's
(`edulink_db.rowpolicy.per_row_calls`), the one the compiler wraps by and the audit's
RL06 checks the live database with.

A performance rule, not an isolation one: advisory.

**Anti-pattern**: `using: "profile_id = current_setting('edulink.acting_profile_id')::uuid"`.

**Best practice**: `using: "profile_id = (select current_setting('edulink.acting_profile_id',
true))::uuid"`; the compiler wraps such calls itself (pglast), so this flags hand-written or
tampered policies.

**Remediation**: wrap each call as `(select ...)`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_db.rowpolicy import ExpressionError, per_row_calls
from edulink_policies.resources import ROW_LEVEL_SECURITY, Resource
from edulink_policies.rule import Context, ResourceRule, Violation
from edulink_policies.stack import row_policies


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    for policy in row_policies(resource):
        for clause, expression in (("USING", policy.using), ("WITH CHECK", policy.with_check)):
            try:
                calls = per_row_calls(expression)
            except ExpressionError as error:
                yield Violation(policy.label, f"{clause} {error}")
                continue
            if calls:
                yield Violation(
                    policy.label,
                    f"{clause} calls {', '.join(calls)} once per row (splinter 0003 "
                    "auth_rls_initplan)",
                )


RULE = ResourceRule(
    code="RL06",
    name="rl06-policy-initplan",
    summary="Policy expressions wrap auth.uid()/jwt()/role()/email() and current_setting() "
    "as (select ...), evaluated once per statement.",
    remediation="Wrap each call as (select ...), e.g. (select current_setting('x', true)).",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    doc=__doc__ or "",
    types=(ROW_LEVEL_SECURITY,),
    check=check,
)
