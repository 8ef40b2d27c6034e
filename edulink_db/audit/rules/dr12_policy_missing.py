"""DR12: a policy the plan declares does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import policy_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class PolicyMissing(Rule):
    """A policy the plan declares does not exist.

    Why: with RLS forced, a missing permissive policy means its role sees no row (the owning
    service is locked out of its own table, or a reading service gets empty results); a
    missing restrictive policy lifts a restriction (the security log becomes editable).

    **Anti-pattern**: `DROP POLICY` by hand, or a migration that recreates a table and with
    it drops its policies.

    **Best practice**: policies are declared in catalogue.yaml and installed by the
    platform's row-level-security resource after the migrations.

    **Remediation**: run `pulumi up --refresh`; the row-level-security resource reads which
    policies are gone and creates them again.
    """

    code = "DR12"
    name = "drift.policy_missing"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        live = {(p.schema, p.table, p.name) for p in ctx.policies}
        for service in ctx.plan.services:
            for policy in service.policies:
                key = (policy.schema, policy.table, policy.name)
                if key in live or not ctx.table_exists(policy.schema, policy.table):
                    continue
                mode = "permissive" if policy.permissive else "restrictive"
                yield self.finding(
                    policy_object(*key),
                    f"the plan's {mode} {policy.command.upper()} policy for "
                    f"{', '.join(policy.roles)} does not exist",
                    "Run `pulumi up --refresh` to create it again.",
                )
