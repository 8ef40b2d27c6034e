"""DR16: a table in a service's schema that its migrations do not create."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.bookkeeping import HISTORY_TABLE, RUN_TABLE
from edulink_db.finding import Level


class TableUnmanaged(Rule):
    """A table in a service's schema that its migrations do not create.

    Why: catalogue.yaml classifies every table the migrations create (sensitive or not, RLS
    or not, which columns are secret). A table created another way — by hand, or by the
    service's own ORM migrations — has no classification: no RLS decision, no review of what
    it holds. It is owned by the group and unreachable by other services, so this is for
    information.

    **Anti-pattern**: tables created by `manage.py migrate` or by hand in a service schema.

    **Best practice**: add the table to `migrations/<service>/` and classify it in
    catalogue.yaml.

    **Remediation**: write the migration that creates it (for an existing table, one that
    creates it `IF NOT EXISTS`), and classify it in catalogue.yaml.
    """

    code = "DR16"
    name = "drift.table_unmanaged"
    level = Level.info

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        known: dict[str, set[str]] = {}
        shaped = yield from self.shaped(ctx, ctx.plan.services)
        for service, shape in shaped:
            # The platform's own bookkeeping: migration history and the data-move run record.
            known[service.schema.name] = {*shape.tables, HISTORY_TABLE, RUN_TABLE}
        for table in sorted(ctx.tables(), key=lambda t: (t.schema, t.name)):
            tables = known.get(table.schema)
            if tables is None or table.name in tables:
                continue
            owner = ctx.services_by_schema[table.schema].name
            yield self.finding(
                relation_object(table.schema, table.name),
                f"table {table.name} is not created by {owner}'s migrations, so catalogue.yaml "
                "does not classify it",
                f"Add a migration under migrations/{owner}/ that creates it, and classify it "
                "in catalogue.yaml.",
            )
