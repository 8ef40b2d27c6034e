"""DR02: a role named like a service role that no service declares."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import ident, role_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level
from edulink_db.plan.model import AccessPlan


class RoleUnexpected(Rule):
    """A role is named like a service role, but no service in the catalogue declares it.

    Why: a leftover role of a removed service, or one created by hand "for a while", keeps
    whatever it was granted and may still log in. Its name makes it look managed when nothing
    manages it. (A role of any name that is a member of a service's roles is reported by DR05.)

    **Anti-pattern**: `CREATE ROLE payment_service_role` by hand ahead of the catalogue, or
    removing a service from the catalogue without dropping its roles.

    **Best practice**: every `<service>_service_role` / `<service>_service` comes from
    catalogue.yaml and `pulumi up`.

    **Remediation**: declare the service in catalogue.yaml, or drop the role after moving what
    it owns: `REASSIGN OWNED BY <role> TO <owner>; DROP OWNED BY <role>; DROP ROLE <role>`.
    """

    code = "DR02"
    name = "drift.role_unexpected"
    level = Level.warning

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        suffixes = role_suffixes(ctx.plan)
        for name in sorted(ctx.roles):
            if name in ctx.planned_roles or name == ctx.admin or name.startswith("pg_"):
                continue
            suffix = next((s for s in suffixes if name.endswith(s) and len(name) > len(s)), None)
            if suffix is None:
                continue
            role = ident(name)
            yield self.finding(
                role_object(name),
                f"role {name} is named like a service role (*{suffix}) but no service in "
                "catalogue.yaml declares it",
                "Declare the service in catalogue.yaml, or remove the role: "
                f"REASSIGN OWNED BY {role} TO <owner>; DROP OWNED BY {role}; DROP ROLE {role}",
            )


def role_suffixes(plan: AccessPlan) -> list[str]:
    """The naming of the plan's roles: what follows the service name (`_service_role`,
    `_service`), longest first so a group name is not read as a login name."""
    suffixes = set()
    for service in plan.services:
        for role in (service.group, service.login):
            if role.name.startswith(service.name) and len(role.name) > len(service.name):
                suffixes.add(role.name[len(service.name) :])
    return sorted(suffixes, key=lambda s: (-len(s), s))
