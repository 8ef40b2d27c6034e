"""SL04: a foreign key without an index on its columns."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import ident, qualified, relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class UnindexedForeignKey(Rule):
    """A foreign key has no index on its columns (splinter 0001).

    Why: deleting or updating a referenced row makes PostgreSQL look for referencing rows;
    without an index that is a scan of the whole referencing table, under a lock, per row.
    Across services (a user deleted in auth, checked in every referencing schema) it is a
    latency and locking hazard. The platform's own validation requires an index for every
    foreign key its migrations create; this finds those created another way.

    **Anti-pattern**: `ALTER TABLE ... ADD COLUMN channel_ref uuid REFERENCES ...` with no
    `CREATE INDEX`.

    **Best practice**: every foreign key column list leads an index.

    **Remediation**: `CREATE INDEX CONCURRENTLY ON <table> (<columns>)`, in a migration.
    """

    code = "SL04"
    name = "security.unindexed_foreign_key"
    level = Level.warning

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        for key in ctx.foreign_keys:
            if key.indexed:
                continue
            columns = ", ".join(ident(c) for c in key.columns)
            yield self.finding(
                relation_object(key.schema, key.table),
                f"foreign key {key.name} ({', '.join(key.columns)}) to "
                f"{key.ref_schema}.{key.ref_table} has no index on its columns",
                f"CREATE INDEX CONCURRENTLY ON {qualified(key.schema, key.table)} ({columns}); "
                "in a migration",
            )
