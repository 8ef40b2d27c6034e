"""Every table with RLS enabled has at least one permissive policy.

Why: with RLS enabled and forced and no permissive policy, PostgreSQL denies by default: the
owning service itself sees 0 rows and every INSERT fails with 42501 (seed defect 1, splinter
0008 rls_enabled_no_policy). Restrictive policies only narrow what permissive ones admit, so
they do not count. The failure is closed (no data leaks), hence advisory: the service's own
tests would notice, but a preview should say so first.

Policies may live in any RowLevelSecurity resource (a reader's SELECT policy on a producer's
table is registered with the reader), so the rule looks at the whole stack.

**Anti-pattern**: `tables: [{schema: user_schema, table: preferences}]` with only the
restrictive `preferences_acting_profile` policy.

**Best practice**: an owner policy `FOR ALL TO S_service_role USING (true) WITH CHECK (true)`
on every RLS table, narrowed by restrictive policies where needed.

**Remediation**: add a permissive policy for the owning group role.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import Resource
from edulink_policies.rule import Context, StackRule, Violation
from edulink_policies.stack import all_row_policies, rls_tables


def check(resources: Sequence[Resource], context: Context) -> Iterator[Violation]:
    admitted = {(p.schema, p.table) for p in all_row_policies(resources) if p.permissive}
    for (schema, table), owner in rls_tables(resources).items():
        if (schema, table) not in admitted:
            yield Violation(
                f"{schema}.{table}",
                "has RLS enabled and forced but no permissive policy: every query sees 0 rows "
                "and every write fails, the owning service's included",
                urn=owner.urn,
            )


RULE = StackRule(
    code="RL02",
    name="rl02-rls-table-has-policy",
    summary="Every table with RLS enabled has at least one permissive policy.",
    remediation="Add a permissive policy for the owning group role (USING and WITH CHECK).",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    doc=__doc__ or "",
    check=check,
)
