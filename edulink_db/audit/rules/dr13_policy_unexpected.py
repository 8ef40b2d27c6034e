"""DR13: a policy on a service's table that the plan does not declare."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import ident, policy_object, qualified
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class PolicyUnexpected(Rule):
    """A policy on a service's table that the plan does not declare.

    Why: permissive policies add up: one extra `USING (true)` for a role admits every row to
    it, whatever the planned policies filter. An extra restrictive policy can lock a service
    out. Pulumi does not remove what it did not create, so an extra policy stays until
    someone drops it.

    **Anti-pattern**: `CREATE POLICY debug ON auth_schema.users FOR SELECT TO
    institution_service_role USING (true)`.

    **Best practice**: declare every policy in catalogue.yaml (`policies:` on the table, or a
    `row_filter` on a read).

    **Remediation**: declare it in catalogue.yaml, or `DROP POLICY <name> ON <table>`.
    """

    code = "DR13"
    name = "drift.policy_unexpected"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        planned = {
            (p.schema, p.table, p.name) for service in ctx.plan.services for p in service.policies
        }
        for policy in ctx.policies:
            key = (policy.schema, policy.table, policy.name)
            if key in planned:
                continue
            mode = "permissive" if policy.permissive else "restrictive"
            yield self.finding(
                policy_object(*key),
                f"{mode} {policy.command.upper()} policy for {', '.join(policy.roles)} is not "
                "in the plan",
                f"Declare it in catalogue.yaml, or DROP POLICY {ident(policy.name)} ON "
                f"{qualified(policy.schema, policy.table)}",
            )
