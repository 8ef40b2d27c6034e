"""Privileges on a service's objects go to service group roles only.

Why: the group role `S_service_role` is where a service's rights live (it owns the schema and
receives the declared cross-service grants); the login role only inherits them. A grant to a
login role bypasses that model (it survives a rotation to a new login, it is invisible in the
group's access matrix), and a grant to any other role opens the service to it: on Supabase,
`anon`, `authenticated` and `service_role` reach tables through the Data API. Database-level
CREATE would let a service create schemas outside the catalogue.

**Anti-pattern**: `Grant(role="authenticated", schema="user_schema", ...)`,
`Grant(role="user_service", schema="auth_schema", ...)` (the login role),
`Grant(role="user_service_role", object_type="database", privileges=["CREATE"])`.

**Best practice**: grants name a catalogue group role; the login role is a member of it.

**Remediation**: grant to the service's group role, or remove the grant. (PUBLIC is IS01's.)
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.grants import grant_view
from edulink_policies.resources import DEFAULT_PRIVILEGES, GRANT, Resource, is_public
from edulink_policies.rule import Context, ResourceRule, Violation

DATABASE_PRIVILEGES = ("CONNECT", "TEMPORARY", "TEMP")


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    grant = grant_view(resource)
    if not grant.privileges or is_public(grant.role):
        return
    if grant.object_type == "database" and not grant.default:
        extra = [p for p in grant.privileges if p not in DATABASE_PRIVILEGES]
        if catalogue.by_role(grant.role) is not None and extra:
            yield Violation(
                resource.name,
                f"{grant.describe()}: {', '.join(extra)} on the database lets a service "
                "create schemas outside the catalogue",
                "grant at most CONNECT, TEMPORARY on the database",
            )
        return
    service = catalogue.by_schema(grant.schema)
    if service is None and grant.default:
        service = catalogue.by_role(grant.owner)
    if service is None or catalogue.is_group_role(grant.role):
        return
    login = catalogue.by_role(grant.role)
    if login is not None:
        yield Violation(
            resource.name,
            f"{grant.describe()}: goes to login role {grant.role}; rights belong to the group "
            f"role {login.group_role}, which the login inherits",
            f"grant to {login.group_role} instead",
        )
    else:
        yield Violation(
            resource.name,
            f"{grant.describe()}: {grant.role or 'no role'} is no service's group role, yet "
            f"gets rights on service {service.name}'s objects (on Supabase anon, "
            "authenticated and service_role reach tables through the Data API)",
        )


RULE = ResourceRule(
    code="GR02",
    name="gr02-grants-to-group-roles",
    summary="Privileges on a service's schema, tables and future objects go to catalogue "
    "group roles only (not login roles, not Supabase or other roles); no CREATE on the "
    "database.",
    remediation="Grant to the service's group role (<service>_service_role) or remove the grant.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    config=("catalogue",),
    types=(GRANT, *DEFAULT_PRIVILEGES),
    check=check,
)
