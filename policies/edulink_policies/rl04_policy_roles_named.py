"""Row-level security policies name their roles: service group roles, never PUBLIC.

Why: `CREATE POLICY ... ` without `TO` applies to PUBLIC, so a permissive policy without roles
admits every role that has (or later gets) a grant, and in Supabase that means `anon` and
`authenticated` too (splinter 0006 counts `TO public` for every role). A policy for a role
outside the service model admits someone no catalogue entry accounts for.

**Anti-pattern**: `{name: users_read, roles: [], using: "true"}`, `roles: ["public"]`,
`roles: ["authenticated"]`.

**Best practice**: `roles` names the group role of the owning service, or of the declared
reader for a SELECT policy.

**Remediation**: name the service group role(s) the policy is for.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import ROW_LEVEL_SECURITY, Resource, is_public
from edulink_policies.rule import Context, ResourceRule, Violation
from edulink_policies.stack import row_policies


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    for policy in row_policies(resource):
        if not policy.roles:
            yield Violation(
                policy.label,
                "names no role, so it applies to PUBLIC (every role, anon and authenticated "
                "included)",
            )
        for role in policy.roles:
            if is_public(role):
                yield Violation(policy.label, "applies to PUBLIC (every role)")
            elif not catalogue.is_group_role(role):
                login = catalogue.by_role(role)
                yield Violation(
                    policy.label,
                    f"applies to {role}, which is no service's group role",
                    f"name {login.group_role} instead" if login is not None else None,
                )


RULE = ResourceRule(
    code="RL04",
    name="rl04-policy-roles-named",
    summary="RLS policies name their roles (service group roles; never empty, never PUBLIC).",
    remediation="Name the group role(s) of the owning service or of the declared reader in the "
    "policy's roles.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    config=("catalogue",),
    types=(ROW_LEVEL_SECURITY,),
    check=check,
)
