"""In protected stacks, login roles have a connection limit and a statement timeout.

Why: all services share one database and its `max_connections`. A login role without a
connection limit lets one service's leak or burst starve the others: isolation of
availability, not of data, but a cross-service failure all the same. Without a statement
timeout one runaway query holds locks and a connection indefinitely.

A stack is protected when the policy config says so (`protected`), when its name is in
`protectedStacks` (default staging, prod), or when the role itself is `protect`ed (the
program protects everything in protected stacks).

**Anti-pattern**: `postgresql.Role(name="auth_service", login=True)` with the provider's
default connection_limit of -1 (unlimited) and no statement_timeout.

**Best practice**: size `connection_limit` per service so the sum stays well below the
plan's max_connections; set `statement_timeout` (and idle_in_transaction_session_timeout)
per environment.

**Remediation**: set `edulink-db:limits` (or `serviceLimits`) in the stack's config.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import ROLE, Resource
from edulink_policies.rule import Context, ResourceRule, Violation


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    if not resource.flag("login") or not context.protected(evidence=resource.protect):
        return
    name = resource.text("name") or resource.name
    where = f"login role {name} in protected stack {context.stack or '(unknown)'}"
    limit = resource.number("connectionLimit")
    if limit is None or limit <= 0:
        yield Violation(
            resource.name,
            f"{where} has no connection limit (connection_limit="
            f"{'unset' if limit is None else int(limit)}): one service can take every "
            "connection of the shared database",
            "set connection_limit > 0 (edulink-db:limits.connectionLimit)",
        )
    timeout = resource.number("statementTimeout")
    if timeout is None or timeout <= 0:
        yield Violation(
            resource.name,
            f"{where} has no statement timeout",
            "set statement_timeout > 0 ms (edulink-db:limits.statementTimeoutMs)",
        )


RULE = ResourceRule(
    code="RO02",
    name="ro02-login-role-limits",
    summary="In protected stacks, login roles have a connection limit (>0) and a statement "
    "timeout.",
    remediation="Set connectionLimit and statementTimeoutMs in edulink-db:limits (or "
    "serviceLimits) for the stack.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    doc=__doc__ or "",
    config=("protected", "protectedStacks"),
    types=(ROLE,),
    check=check,
)
