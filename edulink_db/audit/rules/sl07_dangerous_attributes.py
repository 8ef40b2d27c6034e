"""SL07: a service role, or a role acting as one, has a dangerous attribute."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import ident, role_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level

ATTRIBUTES = {
    "superuser": ("SUPERUSER", "NOSUPERUSER"),
    "bypass_row_level_security": ("BYPASSRLS", "NOBYPASSRLS"),
    "create_role": ("CREATEROLE", "NOCREATEROLE"),
    "create_database": ("CREATEDB", "NOCREATEDB"),
    "replication": ("REPLICATION", "NOREPLICATION"),
}


class DangerousAttributes(Rule):
    """A service role, or a role that is a member of one, is SUPERUSER, BYPASSRLS,
    CREATEROLE, CREATEDB or REPLICATION.

    Why: any one of them takes a service out of its schema: BYPASSRLS ignores every policy,
    CREATEROLE can make itself a member of other services' roles, REPLICATION can stream
    the whole database, SUPERUSER is everything. The plan gives none of them to a service,
    and a role that is a member of a service's role acts as the service too. (The admin is
    a planned member of every group and is not checked.)

    **Anti-pattern**: `ALTER ROLE auth_service BYPASSRLS` to make a back-fill "see
    everything".

    **Best practice**: one-off jobs run as a separate, short-lived role with the grants
    they need.

    **Remediation**: `ALTER ROLE <role> NOBYPASSRLS` (etc.). A non-superuser admin such as
    Supabase's `postgres` cannot remove SUPERUSER, BYPASSRLS or REPLICATION: ask Supabase
    support, or recreate the role.
    """

    code = "SL07"
    name = "security.dangerous_attributes"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        roles = ctx.roles
        members: dict[str, set[str]] = {}
        for membership in ctx.memberships:
            members.setdefault(membership.group, set()).add(membership.member)
        acting = set(ctx.planned_roles)
        pending = list(acting)
        while pending:  # everyone who is, directly or not, a member of a service role
            for member in members.get(pending.pop(), ()):
                if member != ctx.admin and member not in acting:
                    acting.add(member)
                    pending.append(member)
        for name in sorted(acting):
            live = roles.get(name)
            if live is None:
                continue
            planned = ctx.planned_roles.get(name)
            dangerous = [
                words
                for attribute, words in ATTRIBUTES.items()
                if getattr(live, attribute)
                and not (planned is not None and getattr(planned, attribute))
            ]
            if not dangerous:
                continue
            how = "" if planned else " (it is a member of a service role)"
            yield self.finding(
                role_object(name),
                f"has {', '.join(on for on, _ in dangerous)}{how}",
                f"ALTER ROLE {ident(name)} {' '.join(off for _, off in dangerous)}",
            )
