"""Every policy is on a table whose RLS some RowLevelSecurity resource enables.

Why: a policy on a table without row-level security does nothing. It reads as protection in a
review while every grantee sees every row (splinter 0007 policy_exists_rls_disabled, level
ERROR). Typical cause: a reader's SELECT policy with a row filter on a table that the
producer's RowLevelSecurity resource no longer lists.

**Anti-pattern**: `policies: [{schema: user_schema, table: user_profiles, roles:
[application_service_role], using: "deleted_at IS NULL", ...}]` while no resource lists
`user_schema.user_profiles` in its `tables`.

**Best practice**: RLS on the table first (its owner's RowLevelSecurity resource), then the
policies, with the reader's resource depending on the producer's.

**Remediation**: enable and force RLS on the table, or remove the policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import Resource
from edulink_policies.rule import Context, StackRule, Violation
from edulink_policies.stack import all_row_policies, rls_tables


def check(resources: Sequence[Resource], context: Context) -> Iterator[Violation]:
    covered = rls_tables(resources)
    for policy in all_row_policies(resources):
        if (policy.schema, policy.table) not in covered:
            yield Violation(
                policy.label,
                f"(in {policy.resource.name}) is on a table without row-level security: it "
                "restricts nothing",
                urn=policy.resource.urn,
            )


RULE = StackRule(
    code="RL03",
    name="rl03-policy-needs-rls",
    summary="Every policy is on a table whose RLS is enabled and forced (a policy without RLS "
    "restricts nothing).",
    remediation="Enable and force RLS on the table in its owner's RowLevelSecurity resource, "
    "or remove the policy.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    check=check,
)
