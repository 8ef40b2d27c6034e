"""Policy expressions call auth.uid()/jwt()/role()/email() and current_setting() as (select ...).

Why: a bare `current_setting('x')` or `auth.uid()` in USING / WITH CHECK is evaluated for every
row; wrapped as `(select current_setting('x'))` PostgreSQL plans it as an InitPlan and
evaluates it once per statement. On large tables that is the difference between an index scan
and a timeout. Same string check as splinter 0003 auth_rls_initplan (case-insensitive, quotes
ignored), but stricter: every call must be wrapped, not just one of them.

A performance rule, not an isolation one: advisory.

**Anti-pattern**: `using: "profile_id = current_setting('edulink.acting_profile_id')::uuid"`.

**Best practice**: `using: "profile_id = (select current_setting('edulink.acting_profile_id',
true))::uuid"`; the compiler wraps such calls itself (pglast), so this flags hand-written or
tampered policies.

**Remediation**: wrap each call as `(select ...)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import ROW_LEVEL_SECURITY, Resource
from edulink_policies.rule import Context, ResourceRule, Violation
from edulink_policies.stack import row_policies

_CALL = re.compile(r"\b(auth\s*\.\s*(?:uid|jwt|role|email)|current_setting)\s*\(", re.IGNORECASE)
_SELECT_BEFORE = re.compile(r"\bselect\s*$", re.IGNORECASE)


def per_row_calls(expression: str | None) -> list[str]:
    """The calls in `expression` that are not the first thing of a `(select ...)`."""
    if not expression:
        return []
    text = expression.replace('"', "")
    return [
        re.sub(r"\s+", "", match.group(1)).lower() + "()"
        for match in _CALL.finditer(text)
        if not _SELECT_BEFORE.search(text[: match.start()])
    ]


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    for policy in row_policies(resource):
        for clause, expression in (("USING", policy.using), ("WITH CHECK", policy.with_check)):
            calls = per_row_calls(expression)
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
