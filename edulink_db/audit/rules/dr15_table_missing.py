"""DR15: a table the service's migrations create does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class TableMissing(Rule):
    """A table the service's migrations create does not exist.

    Why: the plan's grants, RLS and policies are written for the tables the migrations
    create; a missing table means migrations were not applied, or a table was dropped or
    renamed by hand — and every read declared on it fails.

    **Anti-pattern**: `DROP TABLE` or `ALTER TABLE ... RENAME` outside a migration.

    **Best practice**: every change to a service's tables is a new migration file.

    **Remediation**: run `pulumi up` to apply pending migrations; for a table dropped or
    renamed by hand, restore it, or write the migration that makes the change official.
    """

    code = "DR15"
    name = "drift.table_missing"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        schemas = ctx.schemas
        present = [s for s in ctx.plan.services if s.schema.name in schemas]  # else DR06
        shaped = yield from self.shaped(ctx, present)
        for service, shape in shaped:
            schema = service.schema.name
            for name in shape.tables:
                if not ctx.table_exists(schema, name):
                    yield self.finding(
                        relation_object(schema, name),
                        f"table {name}, created by {service.name}'s migrations, does not exist",
                        "Run `pulumi up` to apply pending migrations; if the table was dropped "
                        "or renamed by hand, restore it or add a migration that makes the "
                        "change.",
                    )
