"""SL02: a table has policies but row-level security is disabled."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import qualified, relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class PolicyWithoutRls(Rule):
    """A table has policies, but row-level security is disabled (splinter 0007).

    Why: policies only filter when RLS is enabled. Without it they are silently ignored, and
    every role with a grant sees every row — while the policies make the table look
    protected. Tables the plan protects are reported by DR10 instead.

    **Anti-pattern**: `CREATE POLICY` on a table nobody enabled RLS on.

    **Best practice**: protect the table in catalogue.yaml (RLS enabled, forced, policies).

    **Remediation**: `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY` (and FORCE), or drop the
    policies.
    """

    code = "SL02"
    name = "security.policy_without_rls"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        planned = {(t.schema, t.table) for s in ctx.plan.services for t in s.row_security}
        counts: dict[tuple[str, str], int] = {}
        for policy in ctx.policies:
            key = (policy.schema, policy.table)
            counts[key] = counts.get(key, 0) + 1
        relations = ctx.relations
        for key, count in sorted(counts.items()):
            live = relations.get(key)
            if live is None or live.row_security or key in planned:
                continue
            table = qualified(*key)
            yield self.finding(
                relation_object(*key, live.kind),
                f"{count} {'policy exists' if count == 1 else 'policies exist'} but row-level "
                "security is disabled: ignored, they filter nothing",
                f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; "
                f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY; or drop the policies",
            )
