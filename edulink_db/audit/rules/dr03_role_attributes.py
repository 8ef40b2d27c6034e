"""DR03: a service role's LOGIN, INHERIT or CONNECTION LIMIT differs from the plan."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import ident, role_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level

# Switches the plan sets either way: attribute -> keyword (NO<keyword> when off).
_SWITCHES = {"login": "LOGIN", "inherit": "INHERIT"}
# Attributes that grant power are SL07's; here only those the plan wants set and are not.
_POWERS = {
    "superuser": "SUPERUSER",
    "create_database": "CREATEDB",
    "create_role": "CREATEROLE",
    "replication": "REPLICATION",
    "bypass_row_level_security": "BYPASSRLS",
}


class RoleAttributes(Rule):
    """A service role's LOGIN, INHERIT or CONNECTION LIMIT differs from the plan.

    Why: a group role that can log in is a login without a managed password; a login role
    that cannot log in takes its service down; a login role without INHERIT cannot use its
    group's privileges; a connection limit changed by hand lets one service exhaust the
    database's connections, or starves it. Dangerous attributes (SUPERUSER, BYPASSRLS, ...)
    are reported by SL07.

    **Anti-pattern**: `ALTER ROLE auth_service CONNECTION LIMIT 50` during an incident, and
    never undone.

    **Best practice**: change limits in the stack's `limits`/`serviceLimits` and apply them.

    **Remediation**: run `pulumi up --refresh` (a plain `pulumi up` does not see changes made
    outside Pulumi), or set the value back with the `ALTER ROLE` given in the finding.
    """

    code = "DR03"
    name = "drift.role_attributes"
    level = Level.warning

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        roles = ctx.roles
        for name, planned in sorted(ctx.planned_roles.items()):
            live = roles.get(name)
            if live is None:
                continue  # DR01
            role = ident(name)
            for attribute, keyword in _SWITCHES.items():
                want, have = getattr(planned, attribute), getattr(live, attribute)
                if have != want:
                    word = keyword if want else f"NO{keyword}"
                    yield self.finding(
                        role_object(name),
                        f"is {keyword if have else f'NO{keyword}'}, the plan says {word}",
                        f"ALTER ROLE {role} {word}; or run `pulumi up --refresh`",
                    )
            if live.connection_limit != planned.connection_limit:
                yield self.finding(
                    role_object(name),
                    f"connection limit is {live.connection_limit}, "
                    f"the plan says {planned.connection_limit}",
                    f"ALTER ROLE {role} CONNECTION LIMIT {planned.connection_limit}; "
                    "or run `pulumi up --refresh`",
                )
            for attribute, keyword in _POWERS.items():
                if getattr(planned, attribute) and not getattr(live, attribute):
                    yield self.finding(
                        role_object(name),
                        f"is not {keyword}, the plan says {keyword}",
                        f"ALTER ROLE {role} {keyword}; or run `pulumi up --refresh`",
                    )
