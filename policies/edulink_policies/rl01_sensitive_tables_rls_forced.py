"""Tables marked sensitive (or `rls: true`) in the catalogue have RLS enabled and forced.

Why: a sensitive table holds personal data or credentials. Row-level security is the second
wall behind grants: with it, a reader sees only the rows its policy admits. `FORCE` matters
as much as `ENABLE`, because the owning group role otherwise bypasses RLS on its own tables
(seed defect 6). A RowLevelSecurity resource enables and forces RLS on every table in its
`tables`; a sensitive table in none of them has neither.

Checked for every service whose schema the stack registers, against catalogue.yaml itself
(not the compiler's plan), so a table dropped from the plan by mistake is still caught.

**Anti-pattern**: a service's RowLevelSecurity resource whose `tables` omits
`auth_schema.users`; a service with sensitive tables and no RowLevelSecurity resource.

**Best practice**: every sensitive table gets ENABLE + FORCE and an owner policy with USING
and WITH CHECK, plus a SELECT policy per declared reader.

**Remediation**: list the table in the owning service's RowLevelSecurity resource (the
compiler does so for every `sensitive: true` table), or correct its classification in
catalogue.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import Resource
from edulink_policies.rule import Context, StackRule, Violation
from edulink_policies.stack import blame, deployed_services, rls_tables


def check(resources: Sequence[Resource], context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    covered = rls_tables(resources)
    for service in deployed_services(resources, catalogue):
        for table in service.tables.values():
            if not table.row_level_security or (table.schema, table.name) in covered:
                continue
            why = "is marked sensitive" if table.sensitive else "has rls: true"
            yield Violation(
                table.qualified,
                f"{why} in {catalogue.path.name} but no RowLevelSecurity resource enables and "
                "forces RLS on it: every grantee sees every row, and the owner bypasses RLS",
                urn=blame(resources, service),
            )


RULE = StackRule(
    code="RL01",
    name="rl01-sensitive-tables-rls-forced",
    summary="Tables marked sensitive (or rls: true) in catalogue.yaml have RLS enabled and "
    "forced by a RowLevelSecurity resource.",
    remediation="List the table in its service's RowLevelSecurity resource, or correct its "
    "classification in catalogue.yaml.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    doc=__doc__ or "",
    config=("catalogue",),
    check=check,
)
