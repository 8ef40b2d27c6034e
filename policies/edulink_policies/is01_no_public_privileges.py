"""No privilege is granted to PUBLIC.

Why: PUBLIC is every role of the cluster, present and future. On Supabase that includes
`anon` and `authenticated`, the roles the Data API runs as, so a privilege given to PUBLIC
crosses every service boundary at once; it can be neither column-scoped nor revoked for one
service.

**Anti-pattern**: `postgresql.Grant(role="public", schema="user_schema", object_type="table",
objects=["user_profiles"], privileges=["SELECT"])`, or `DefaultPrivileges(role="public",
privileges=["EXECUTE"], ...)`, which hands every future function to everyone.

**Best practice**: grant to a service's group role, and only what the catalogue declares.
`DefaultPrivileges(role="public", privileges=[])` is the opposite and welcome: it *takes*
from PUBLIC what PostgreSQL gives it on new objects.

**Remediation**: remove the grant, or give the privilege to the group role of the service
that needs it (declare the read in catalogue.yaml).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.grants import grant_view
from edulink_policies.resources import DEFAULT_PRIVILEGES, GRANT, Resource, is_public
from edulink_policies.rule import Context, ResourceRule, Violation


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    grant = grant_view(resource)
    if is_public(grant.role) and grant.privileges:
        yield Violation(
            resource.name,
            f"{grant.describe()}: PUBLIC is every role, including Supabase's anon and "
            "authenticated",
        )


RULE = ResourceRule(
    code="IS01",
    name="is01-no-public-privileges",
    summary="No privilege is granted to PUBLIC (grants and default privileges).",
    remediation="Remove the grant, or grant to the group role of the service that needs it "
    "(declare the read in catalogue.yaml); privileges=[] for PUBLIC is a revoke and allowed.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    doc=__doc__ or "",
    types=(GRANT, *DEFAULT_PRIVILEGES),
    check=check,
)
