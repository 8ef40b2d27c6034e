"""RL06: a policy calls a per-statement function once per row."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import policy_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level
from edulink_db.rowpolicy import per_row_calls


class PolicyPerRowCall(Rule):
    """A policy calls auth.uid()/auth.jwt()/current_setting() once per row (splinter 0003).

    Why: a function whose value is the same for the whole statement, called bare in a
    policy, runs for every row the query visits; wrapped in a sub-select,
    `(select auth.uid())`, PostgreSQL runs it once (an InitPlan). On large tables the
    difference is orders of magnitude. The platform wraps these calls in the policies it
    installs; this finds those it did not install or that were changed. The policy pack's
    RL06 checks the same at preview, with the same reading of the expression.

    **Anti-pattern**: `USING (user_id = auth.uid())`.

    **Best practice**: `USING (user_id = (select auth.uid()))`.

    **Remediation**: wrap the call in `(select ...)`: declare the policy in catalogue.yaml,
    where the platform wraps it, or `ALTER POLICY ... USING (...)`.
    """

    code = "RL06"
    name = "rls.policy_initplan"
    level = Level.warning

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        for policy in ctx.policies:
            for clause, text in (("USING", policy.using), ("WITH CHECK", policy.with_check)):
                calls = per_row_calls(text)
                if calls:
                    yield self.finding(
                        policy_object(policy.schema, policy.table, policy.name),
                        f"{clause} calls {', '.join(calls)} once per row",
                        "Wrap each call in a sub-select, e.g. (select auth.uid()); declare the "
                        "policy in catalogue.yaml and the platform does it.",
                    )
