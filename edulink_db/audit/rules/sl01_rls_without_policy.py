"""SL01: row-level security is enabled on a table that has no policy."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class RlsWithoutPolicy(Rule):
    """Row-level security is enabled on a table that has no policy (splinter 0008).

    Why: with RLS and no policy, nobody but the owner sees or writes a row — and not even the
    owner when RLS is forced. That is rarely what was meant.

    **Anti-pattern**: `ENABLE ROW LEVEL SECURITY` without a single `CREATE POLICY`.

    **Best practice**: protect the table in catalogue.yaml; the plan adds the owner's policy
    and one per reading service.

    **Remediation**: declare the table's protection and policies in catalogue.yaml, or
    disable RLS on it if it was not meant.
    """

    code = "SL01"
    name = "security.rls_without_policy"
    level = Level.info

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        with_policy = {(p.schema, p.table) for p in ctx.policies}
        for table in sorted(ctx.tables(), key=lambda t: (t.schema, t.name)):
            if table.row_security and (table.schema, table.name) not in with_policy:
                forced = " (forced: not even its owner)" if table.force_row_security else ""
                yield self.finding(
                    relation_object(table.schema, table.name),
                    f"row-level security is enabled and no policy exists: no role sees a "
                    f"row{forced}",
                    "Declare the table's policies in catalogue.yaml, or disable RLS on it.",
                )
