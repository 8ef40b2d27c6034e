"""Role memberships stay inside a service.

Why: membership is the widest grant there is. A member of `auth_service_role` inherits (or can
`SET ROLE` to) everything the auth service owns: every table, every column, RLS bypassed as
owner. Likewise a service role made a member of a Supabase role (`service_role` has
BYPASSRLS, `postgres` owns the database) escapes its service. Only two memberships belong in
the model: the service's login role in its own group role, and the admin that runs Pulumi in
each group role (PostgreSQL 15 needs it for `ALTER DEFAULT PRIVILEGES FOR ROLE` and
`SET ROLE`). A login role's `SET role = ...` (`assumeRole`) must name its own group.

**Anti-pattern**: `GrantRole(role="user_service", grant_role="auth_service_role")`,
`GrantRole(role="auth_service_role", grant_role="service_role")`, `Role(name="user_service",
roles=["auth_service_role"])`, `Role(name="user_service", assume_role="auth_service_role")`.

**Best practice**: one `GrantRole(role=S_service, grant_role=S_service_role)` per service plus
the admin's membership; cross-service access only through declared, column-scoped grants.

**Remediation**: remove the membership; declare what the service needs of the other one as a
read in catalogue.yaml. Add a legitimate admin role to the policy config `adminRoles`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.catalogue import Catalogue
from edulink_policies.resources import GRANT_ROLE, ROLE, Resource
from edulink_policies.rule import Context, ResourceRule, Violation


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    admins = context.admin_roles(resource.provider_props)
    if resource.type == GRANT_ROLE:
        pairs = [(resource.text("role"), resource.text("grantRole"))]
    else:
        name = resource.text("name") or resource.name
        pairs = [(name, granted) for granted in resource.strings("roles")]
        assumed = resource.text("assumeRole")
        service = catalogue.by_role(name)
        is_login = service is not None and name == service.login_role
        if service is not None and is_login and assumed and assumed != service.group_role:
            yield Violation(
                resource.name,
                f"login role {name} of service {service.name} runs as {assumed} "
                f"(ALTER ROLE ... SET role), not as its group role {service.group_role}",
                f"set assume_role={service.group_role!r}",
            )
    for member, granted in pairs:
        problem = _membership_problem(catalogue, admins, member, granted)
        if problem is not None:
            yield Violation(resource.name, problem)


def _membership_problem(
    catalogue: Catalogue, admins: set[str], member: str | None, granted: str | None
) -> str | None:
    granted_service = catalogue.by_role(granted)
    member_service = catalogue.by_role(member)
    if granted_service is None and member_service is None:
        return None  # outside the service model
    if granted_service is not None and granted == granted_service.group_role:
        if member == granted_service.login_role or member in admins:
            return None
        owner = f" (a role of service {member_service.name})" if member_service else ""
        return (
            f"{member}{owner} becomes a member of {granted} and so gets every right of "
            f"service {granted_service.name}, RLS bypassed as table owner"
        )
    if member_service is not None:
        what = (
            f"login role {granted} of service {granted_service.name}"
            if granted_service is not None
            else f"{granted}, which is no role of the service model (e.g. Supabase's "
            "service_role bypasses RLS)"
        )
        return f"{member} (service {member_service.name}) becomes a member of {what}"
    assert granted_service is not None
    return f"{member} becomes a member of login role {granted} of service {granted_service.name}"


RULE = ResourceRule(
    code="IS03",
    name="is03-role-membership-within-service",
    summary="Role memberships stay inside a service: only S_service (and the admin) are "
    "members of S_service_role, and service roles join no other role.",
    remediation="Remove the membership and declare the read in catalogue.yaml instead; add a "
    "legitimate admin role to the policy config `adminRoles`.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    doc=__doc__ or "",
    config=("catalogue", "adminRoles"),
    types=(GRANT_ROLE, ROLE),
    check=check,
)
