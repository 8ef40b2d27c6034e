"""DR14: a planned policy's command, mode, roles or expressions differ from the plan."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import policy_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level
from edulink_db.rls.compare import same_expression


class PolicyChanged(Rule):
    """A planned policy's command, mode, roles or expressions differ from the plan.

    Why: a policy is a filter on rows: `ALTER POLICY ... USING (true)` on a reader's policy
    shows it soft-deleted profiles; changing its roles hands the rows to another service.
    Expressions are compared by meaning, not by text: PostgreSQL stores its own rendering
    (`(deleted_at IS NULL)`, `''::text`), so both sides are parsed and normalised first
    (see edulink_db.rls.compare).

    **Anti-pattern**: `ALTER POLICY user_service_role_read ON auth_schema.users USING (...)`
    by hand.

    **Best practice**: change the policy in catalogue.yaml; the platform replaces it.

    **Remediation**: run `pulumi up --refresh`; the row-level-security resource notices the
    changed policy and creates it again as planned.
    """

    code = "DR14"
    name = "drift.policy_changed"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        live = {(p.schema, p.table, p.name): p for p in ctx.policies}
        for service in ctx.plan.services:
            for planned in service.policies:
                key = (planned.schema, planned.table, planned.name)
                found = live.get(key)
                if found is None:
                    continue  # DR12
                changes = []
                if found.command != planned.command:
                    changes.append(
                        f"command is {found.command.upper()}, the plan says "
                        f"{planned.command.upper()}"
                    )
                if found.permissive != planned.permissive:
                    mode = "permissive" if found.permissive else "restrictive"
                    changes.append(f"it is {mode}, the plan says the opposite")
                if tuple(sorted(found.roles)) != tuple(sorted(planned.roles)):
                    changes.append(
                        f"roles are {', '.join(found.roles)}, the plan says "
                        f"{', '.join(sorted(planned.roles))}"
                    )
                for clause, want, got in (
                    ("USING", planned.using, found.using),
                    ("WITH CHECK", planned.with_check, found.with_check),
                ):
                    if not same_expression(want, got, planned.schema, planned.table):
                        changes.append(f"{clause} is ({got}), the plan says ({want})")
                if changes:
                    yield self.finding(
                        policy_object(*key),
                        "; ".join(changes),
                        "Run `pulumi up --refresh` to restore the planned policy.",
                    )
