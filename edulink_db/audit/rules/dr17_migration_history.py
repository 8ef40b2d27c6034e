"""DR17: a service's migration history differs from its migration files."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import relation_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.bookkeeping import HISTORY_TABLE
from edulink_db.finding import Level


class MigrationHistory(Rule):
    """A service's migration history differs from its migration files.

    Why: the history (`<schema>.edulink_migrations`) records each applied file with its
    checksum. A file not applied means the tables are behind the plan; a checksum that
    differs means the file was edited after it was applied (the database does not hold what
    the file says); a version with no file means someone applied a migration that is not in
    the repository. Reading the history needs SELECT on it: without, this rule reports that
    it could not look.

    **Anti-pattern**: editing an applied migration to "fix" it, or applying SQL by hand and
    inserting a history row.

    **Best practice**: applied files never change; a fix is a new file.

    **Remediation**: `pulumi up` applies pending files; restore an edited file from version
    control and add a new migration for the change.
    """

    code = "DR17"
    name = "drift.migration_history"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        schemas = ctx.schemas
        history = ctx.history
        relations = ctx.relations
        for service in ctx.plan.services:
            schema = service.schema.name
            target = relation_object(schema, HISTORY_TABLE)
            if schema not in schemas:
                continue  # DR06
            if (schema, HISTORY_TABLE) not in relations:
                yield self.finding(
                    target,
                    f"{service.name} has no migration history: its migrations were never applied",
                    "Run `pulumi up` to apply the migrations.",
                )
                continue
            if schema in history.unreadable:
                yield self.not_evaluated(target, history.unreadable[schema])
                continue
            applied = {r.version: r for r in history.records.get(schema, ())}
            files = {s.version: s for s in service.migrations.steps}
            for version, step in sorted(files.items()):
                record = applied.get(version)
                if record is None:
                    yield self.finding(
                        target,
                        f"migrations/{service.name}/{step.file_name} is not applied",
                        "Run `pulumi up` to apply it.",
                    )
                elif record.checksum != step.checksum:
                    yield self.finding(
                        target,
                        f"migrations/{service.name}/{step.file_name} was applied with checksum "
                        f"{record.checksum[:12]}, the file's is {step.checksum[:12]}: it was "
                        "edited after it was applied",
                        "Restore the applied file from version control and put the change in "
                        "a new migration.",
                    )
            for version, record in sorted(applied.items()):
                if version not in files:
                    yield self.finding(
                        target,
                        f"version {version:04d} ({record.name}) is applied but has no file in "
                        f"migrations/{service.name}/",
                        "Add the file that was applied to the repository, or find out who "
                        "applied it.",
                    )
