"""DR05: the members of a service role, or the roles a service role belongs to, differ
from the plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import ident, role_object
from edulink_db.audit.predefined_roles import predefined_reach
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level
from edulink_db.introspect.state import LiveMembership


class Memberships(Rule):
    """Who is a member of a service's roles, and what they are members of, differs from the
    plan.

    Why: a member of a group role holds every privilege of that service — its whole schema,
    whatever RLS says for other services — so one extra member breaks the isolation the
    platform exists for. A service role that is a member of another role reaches beyond its
    schema, past every ACL: a predefined role such as `pg_read_all_data`, or on PostgreSQL
    17 `pg_maintain` (VACUUM, ANALYZE, CLUSTER, REINDEX and LOCK on every table), is named
    with what it gives. A missing membership stops the service
    acting as its group. On PostgreSQL 16+ a membership also needs its INHERIT and SET
    options, and a login role must not hold ADMIN OPTION on its group (it could grant it on).

    The admin (`postgres` on Supabase) is a planned member of every group; on 16+ it is also
    a member, with ADMIN OPTION, of every role it created, which PostgreSQL grants itself.

    **Anti-pattern**: `GRANT auth_service_role TO user_service` so that the user service can
    "just read" the users table.

    **Best practice**: cross-service access is a declared, column-scoped read in
    catalogue.yaml, never a membership.

    **Remediation**: `REVOKE <group> FROM <member>` for an extra membership; run
    `pulumi up --refresh` for a missing one.
    """

    code = "DR05"
    name = "drift.memberships"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        roles = ctx.roles
        grants: dict[tuple[str, str], list[LiveMembership]] = defaultdict(list)
        for membership in ctx.memberships:
            grants[(membership.group, membership.member)].append(membership)
        planned = {
            (m.group, m.member): m for service in ctx.plan.services for m in service.memberships
        }
        logins = {s.login.name for s in ctx.plan.services}
        for (group, member), rows in sorted(grants.items()):
            if (group, member) in planned:
                yield from self._options(group, member, rows, member in logins)
                continue
            if group in ctx.planned_roles:
                if member == ctx.admin and group in logins:
                    continue  # 16+: PostgreSQL makes a role's creator its admin
                kind = "group" if group in ctx.groups else "login"
                yield self.finding(
                    role_object(group),
                    f"{member} is a member of the {kind} role {group}, which the plan does not "
                    f"allow: it can use every privilege of {group}",
                    f"REVOKE {ident(group)} FROM {ident(member)}",
                )
            elif member in ctx.planned_roles:
                reach = predefined_reach(group)
                yield self.finding(
                    role_object(member),
                    f"is a member of {group}, which the plan does not allow: it gains every "
                    f"privilege of {group}" + (f": {reach}" if reach else ""),
                    f"REVOKE {ident(group)} FROM {ident(member)}",
                )
        for (group, member), wanted in sorted(planned.items()):
            if (group, member) not in grants and group in roles and member in roles:
                yield self.finding(
                    role_object(group),
                    f"{member} is not a member of {group}; the plan needs it: {wanted.why}",
                    f"GRANT {ident(group)} TO {ident(member)}; or run `pulumi up --refresh`",
                )

    def _options(
        self, group: str, member: str, rows: list[LiveMembership], login: bool
    ) -> Iterator[Outcome]:
        if not any(r.inherit_option is not False and r.set_option is not False for r in rows):
            yield self.finding(
                role_object(group),
                f"{member} is a member of {group} without the INHERIT and SET options the plan "
                "needs",
                f"GRANT {ident(group)} TO {ident(member)} WITH INHERIT TRUE, SET TRUE",
            )
        if login and any(r.admin_option for r in rows):
            yield self.finding(
                role_object(group),
                f"{member} holds ADMIN OPTION on {group}: it could make other roles members",
                f"REVOKE ADMIN OPTION FOR {ident(group)} FROM {ident(member)}",
            )
