"""DR10: a table the plan protects with row-level security is not enabled and forced."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import qualified, relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class RlsNotEnforced(Rule):
    """A table the plan protects with row-level security does not have it enabled and
    forced.

    Why: the catalogue marks tables holding personal data or credentials as sensitive; their
    rows are filtered by policies (another service sees, say, only profiles not deleted).
    With RLS disabled every policy is ignored and every row of the table is visible to
    whoever holds a grant on it. Without FORCE, the table's owner — the group role each
    service acts as — bypasses its own table's policies, including restrictive ones such as
    the append-only rule of the security log.

    **Anti-pattern**: `ALTER TABLE ... DISABLE ROW LEVEL SECURITY` (or `NO FORCE`) to debug
    a query, left in place.

    **Best practice**: debug as the role concerned, with its policies in force; change the
    catalogue if a table should not have RLS.

    **Remediation**: `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY; ALTER TABLE <table>
    FORCE ROW LEVEL SECURITY`, or `pulumi up --refresh`.
    """

    code = "DR10"
    name = "drift.rls_not_enforced"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        relations = ctx.relations
        for service in ctx.plan.services:
            for planned in service.row_security:
                live = relations.get((planned.schema, planned.table))
                if live is None or not live.is_table:
                    continue  # DR15
                table = qualified(planned.schema, planned.table)
                # Each switch the table needs: whether it is on, what its being off allows,
                # and the clause of ALTER TABLE that turns it on.
                switches = (
                    (
                        live.row_security,
                        "row-level security is disabled: its policies are ignored and every "
                        "grantee sees every row",
                        "ENABLE",
                    ),
                    (
                        live.force_row_security,
                        f"row-level security is not forced: its owner {live.owner} bypasses "
                        "the table's policies",
                        "FORCE",
                    ),
                )
                for on, risk, clause in switches:
                    if not on:
                        yield self.finding(
                            relation_object(planned.schema, planned.table),
                            risk,
                            f"ALTER TABLE {table} {clause} ROW LEVEL SECURITY; "
                            "or run `pulumi up --refresh`",
                        )
