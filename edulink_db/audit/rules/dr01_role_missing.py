"""DR01: a role the plan declares does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import role_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class RoleMissing(Rule):
    """A role the plan declares does not exist.

    Why: a missing group role means nobody owns the service's objects as planned; a missing
    login role means the service cannot connect; a missing admin means nobody can apply the
    plan. Rules about the role's attributes, settings and memberships skip it, so this is
    the one finding about it.

    **Anti-pattern**: dropping or renaming a service role by hand (`DROP ROLE`,
    `ALTER ROLE ... RENAME`).

    **Best practice**: roles are created, changed and removed only through the catalogue and
    `pulumi up`.

    **Remediation**: run `pulumi up --refresh` for the stack; Pulumi sees the role is gone and
    creates it again (with a new password for a login role: redeploy the service's secret).
    """

    code = "DR01"
    name = "drift.role_missing"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        roles = ctx.roles
        wanted = {
            name: ("login" if role.login else "group") for name, role in ctx.planned_roles.items()
        }
        wanted.setdefault(ctx.admin, "admin")
        for name, kind in sorted(wanted.items()):
            if name not in roles:
                yield self.finding(
                    role_object(name),
                    f"the plan's {kind} role {name} does not exist",
                    "Run `pulumi up --refresh` for this stack to create it again.",
                )
