"""In protected stacks, schemas, migrations and row-level security are protected and kept.

Why: deleting a `Schema` drops the service's data; deleting `ServiceMigrations` of a
disposable database drops its tables and history; deleting `RowLevelSecurity` disables RLS
and drops the policies, opening every sensitive table to its grantees. In staging and prod a
refactor that renames a resource, or a stray `pulumi destroy`, must stop at `protect` instead.

A stack is protected when the policy config says so (`protected`), when its name is in
`protectedStacks` (default staging, prod), or when any of its service schemas is protected.

Limitation: `retain_on_delete` is not part of what the Pulumi engine sends to analyzers
(AnalyzerResourceOptions has protect, ignoreChanges, deleteBeforeReplace, aliases,
customTimeouts, additionalSecretOutputs, parent), so this rule cannot see it. It checks
`protect`, and `disposable: false` on ServiceMigrations (whose delete then keeps the data);
the program's own tests check `retain_on_delete`.

**Anti-pattern**: `ServiceMigrations(..., disposable=True)` or a `Schema` without
`protect=True` in prod.

**Best practice**: one `protect`/`retain_on_delete` switch per stack (`edulink-db:protected`),
applied to every stateful resource.

**Remediation**: set `edulink-db:protected: true` and `edulink-db:disposable: false` in the
stack's config.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import MIGRATIONS, ROW_LEVEL_SECURITY, SCHEMA, Resource, of_type
from edulink_policies.rule import Context, StackRule, Violation

CONSEQUENCE = {
    SCHEMA: "deleting it drops the service's schema",
    MIGRATIONS: "deleting it loses the migration history",
    ROW_LEVEL_SECURITY: "deleting it disables RLS and drops the policies",
}


def check(resources: Sequence[Resource], context: Context) -> Iterator[Violation]:
    kept = of_type(resources, SCHEMA, MIGRATIONS, ROW_LEVEL_SECURITY)
    evidence = any(r.protect for r in of_type(resources, SCHEMA))
    if not context.protected(evidence):
        return
    where = f"protected stack {context.stack or '(unknown)'}"
    for resource in kept:
        if not resource.protect:
            yield Violation(
                resource.name,
                f"is not protected in {where}: {CONSEQUENCE[resource.type]}",
                "set edulink-db:protected: true (protect and retain_on_delete)",
                urn=resource.urn,
            )
        if resource.type == MIGRATIONS and resource.flag("disposable"):
            yield Violation(
                resource.name,
                f"is disposable in {where}: deleting it drops the service's tables",
                "set edulink-db:disposable: false",
                urn=resource.urn,
            )


RULE = StackRule(
    code="PR01",
    name="pr01-protected-stack-resources",
    summary="In protected stacks, Schema, ServiceMigrations and RowLevelSecurity resources are "
    "protected, and migrations are not disposable.",
    remediation="Set edulink-db:protected: true and edulink-db:disposable: false for the stack.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    config=("protected", "protectedStacks"),
    check=check,
)
