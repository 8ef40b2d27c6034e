"""DR11: row-level security is on for a table the catalogue does not protect."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import qualified, relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class RlsUnplanned(Rule):
    """Row-level security is enabled or forced on a table the catalogue does not protect.

    Why: the catalogue decides which tables have RLS, and the plan creates their policies
    with it (the owner's, and one per reading service). RLS switched on by hand has none of
    them: every service, the owner included when forced, sees no row and cannot insert.
    Only tables the migrations create are checked; tables created outside them are DR16's.

    **Anti-pattern**: `ALTER TABLE institution_schema.institutions ENABLE ROW LEVEL
    SECURITY` without policies, to "lock it down".

    **Best practice**: mark the table `rls: true` (or `sensitive: true`) in catalogue.yaml;
    the plan then adds the policies that keep its readers working.

    **Remediation**: classify the table in catalogue.yaml and apply, or
    `ALTER TABLE <table> NO FORCE ROW LEVEL SECURITY; ALTER TABLE <table> DISABLE ROW LEVEL
    SECURITY`.
    """

    code = "DR11"
    name = "drift.rls_unplanned"
    level = Level.warning

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        planned = {(t.schema, t.table) for s in ctx.plan.services for t in s.row_security}
        relations = ctx.relations
        shaped = yield from self.shaped(ctx, ctx.plan.services)
        for service, shape in shaped:
            for name in shape.tables:
                key = (service.schema.name, name)
                live = relations.get(key)
                if key in planned or live is None or not live.is_table:
                    continue
                if live.row_security or live.force_row_security:
                    state = "enabled" if live.row_security else "forced (not enabled)"
                    if live.row_security and live.force_row_security:
                        state = "enabled and forced"
                    table = qualified(*key)
                    yield self.finding(
                        relation_object(*key),
                        f"row-level security is {state}, but catalogue.yaml does not protect "
                        "this table: the plan gives it no policy",
                        "Mark the table `rls: true` in catalogue.yaml and apply, or "
                        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY; "
                        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
                    )
