"""No role is SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS.

Why: each attribute dissolves the isolation on its own. SUPERUSER skips every permission
check; BYPASSRLS ignores every policy; CREATEROLE can grant itself membership in any
non-superuser role (another service's group role included); REPLICATION streams the whole
cluster's data; CREATEDB creates databases outside this model. Supabase's own admin
(`postgres`) is none of these either. The rule checks every `postgresql.Role` the program
registers: all of them are service roles.

**Anti-pattern**: `postgresql.Role(name="auth_service", bypass_row_level_security=True)`, or
`create_role=True` "so the service can manage its users".

**Best practice**: pass every flag explicitly as False (a non-superuser admin cannot change
them afterwards, provider pitfall P2).

**Remediation**: set superuser, create_database, create_role, replication and
bypass_row_level_security to False.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import ROLE, Resource
from edulink_policies.rule import Context, ResourceRule, Violation

ATTRIBUTES = {
    "superuser": "SUPERUSER",
    "createDatabase": "CREATEDB",
    "createRole": "CREATEROLE",
    "replication": "REPLICATION",
    "bypassRowLevelSecurity": "BYPASSRLS",
}


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    granted = [keyword for key, keyword in ATTRIBUTES.items() if resource.flag(key)]
    if granted:
        name = resource.text("name") or resource.name
        yield Violation(
            resource.name,
            f"role {name} has {', '.join(granted)}",
            "set " + ", ".join(f"{key}=False" for key, kw in ATTRIBUTES.items() if kw in granted),
        )


RULE = ResourceRule(
    code="RO01",
    name="ro01-no-privileged-role-attributes",
    summary="No role is SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS.",
    remediation="Set superuser, create_database, create_role, replication and "
    "bypass_row_level_security to False on the Role.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    doc=__doc__ or "",
    types=(ROLE,),
    check=check,
)
