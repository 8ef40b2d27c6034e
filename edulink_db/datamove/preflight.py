"""Every problem of a data move, found before a row moves.

Each `check_*` adds what it finds to one `Findings` and never raises for bad input; the run
fails once, with all of them. Against the legacy database (inside the run's one snapshot):
the legacy tables and columns exist, every legacy table and column is mapped, skipped or
dropped, every transform is one row-level, non-volatile expression whose type the target
column accepts by assignment, and, in a dry run, every transform evaluates on every legacy
row. Against the target: the login can act as the service's group, the tables are empty or
were verified before (`--resume`), and every foreign key of the copied rows finds its row
(`integrity`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.datamove.catalog import LegacyTable
from edulink_db.datamove.diagnosis import failing_column, reason
from edulink_db.datamove.mapping import LoadedMapping
from edulink_db.datamove.plan import ColumnMove, MovePlan, TableMove
from edulink_db.datamove.progress import Progress
from edulink_db.datamove.runrecord import RunRecord, act_as
from edulink_db.datamove.verify import Checksum, fetch_checksum, legacy_checksum_sql
from edulink_db.errors import Issue

# Functions whose result differs per call: the COPY and the checksum would see different values.
_VOLATILE = """
SELECT DISTINCT proname::text FROM pg_proc WHERE proname = ANY(%s) AND provolatile = 'v'
"""

# Would PostgreSQL store a value of the first type in a column of the second without an
# explicit cast? Same type, an implicit or assignment cast, any type into a string type (I/O
# conversion), or arrays whose elements qualify; domains count as their base types.
_ASSIGNABLE = """
SELECT p.i, format_type(p.src, NULL), t.oid IS NOT NULL,
       t.oid IS NOT NULL AND (
           sb.oid = tb.oid
           OR tb.typcategory = 'S'
           OR EXISTS (SELECT FROM pg_cast WHERE castsource = sb.oid AND casttarget = tb.oid
                      AND castcontext IN ('i', 'a'))
           OR (sb.typcategory = 'A' AND tb.typcategory = 'A' AND (
                   sb.typelem = tb.typelem
                   OR EXISTS (SELECT FROM pg_cast WHERE castsource = sb.typelem
                              AND casttarget = tb.typelem AND castcontext IN ('i', 'a')))))
FROM unnest(%s::oid[], %s::text[]) WITH ORDINALITY AS p(src, tgt, i)
JOIN pg_type s ON s.oid = p.src
JOIN pg_type sb ON sb.oid = coalesce(nullif(s.typbasetype, 0), s.oid)
LEFT JOIN pg_type t ON t.oid = to_regtype(p.tgt)
LEFT JOIN pg_type tb ON tb.oid = coalesce(nullif(t.typbasetype, 0), t.oid)
ORDER BY p.i
"""


@dataclass
class Findings:
    """Issues so far, the tables that have one (later checks leave those alone), and what
    the legacy side holds of each table to copy."""

    issues: list[Issue] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)  # legacy rows per table to copy
    scans: dict[str, Checksum] = field(default_factory=dict)  # the dry run's checksums

    def add(self, table: str, issue: Issue, blocks: bool = True) -> None:
        """Record an issue; one that `blocks` keeps later checks away from the table (they
        would only fail again for the same reason)."""
        self.issues.append(issue)
        if blocks:
            self.broken.add(table)

    def clean(self, plan: MovePlan) -> Iterator[TableMove]:
        """This run's tables that are still to copy and have no problem yet."""
        return (m for m in plan.tables if not m.already_verified and m.name not in self.broken)


def check_legacy_tables(
    loaded: LoadedMapping,
    plan: MovePlan,
    legacy: Mapping[str, LegacyTable],
    schema_exists: bool,
    findings: Findings,
) -> None:
    mapping = loaded.mapping
    if not schema_exists:
        for move in plan.tables:
            findings.broken.add(move.name)
        findings.issues.append(
            loaded.issue(
                ("legacy_schema",),
                f"the legacy database has no schema {mapping.legacy_schema!r}",
            )
        )
        return
    reads: dict[str, set[str]] = {}
    drops: dict[str, set[str]] = {}
    for name, spec in mapping.tables.items():
        reads.setdefault(spec.legacy_table, set()).update(
            c for column in loaded.columns[name] for c in column.reads
        )
        drops.setdefault(spec.legacy_table, set()).update(spec.drop)
    for move in plan.tables:
        path = move.path
        table = legacy.get(move.legacy.name)
        if table is None:
            known = ", ".join(sorted(legacy)) or "none"
            findings.add(
                move.name,
                loaded.issue(
                    (*path, "from"),
                    f"the legacy database has no table {move.legacy}; known: {known}",
                ),
            )
            continue
        for column in move.columns:
            missing = [c for c in column.mapping.reads if c not in table.columns]
            if missing:
                findings.add(
                    move.name,
                    loaded.issue(
                        (*path, "columns", column.target),
                        f"legacy table {move.legacy} has no column {missing[0]!r}; "
                        f"known: {', '.join(table.columns)}",
                    ),
                )
        for index, dropped in enumerate(move.dropped):
            if dropped not in table.columns:
                findings.add(
                    move.name,
                    loaded.issue(
                        (*path, "drop", index),
                        f"legacy table {move.legacy} has no column {dropped!r} to drop",
                    ),
                    blocks=False,
                )
        left = [
            c
            for c in table.columns
            if c not in reads.get(table.name.name, set())
            and c not in drops.get(table.name.name, set())
        ]
        if left:
            findings.add(
                move.name,
                loaded.issue(
                    path,
                    f"legacy column(s) {', '.join(left)} of {move.legacy} are neither mapped "
                    "nor listed in drop: map them, or drop them deliberately",
                ),
                blocks=False,
            )
    accounted = {spec.legacy_table for spec in mapping.tables.values()} | set(mapping.skip_tables)
    for name, table in sorted(legacy.items()):
        if table.is_table and name not in accounted:
            findings.issues.append(
                loaded.issue(
                    ("tables",),
                    f"legacy table {table.name} is neither mapped nor listed in skip_tables",
                )
            )


def check_expressions(
    source: psycopg.Connection[Any], loaded: LoadedMapping, plan: MovePlan, findings: Findings
) -> None:
    """Each value compiles as a row-level expression and its type is assignable."""
    names = sorted(
        {
            f
            for m in plan.tables
            for c in m.columns
            if c.mapping.transform
            for f in c.mapping.transform.functions
        }
    )
    volatile = {r[0] for r in source.execute(_VOLATILE, (names,)).fetchall()} if names else set()
    for move in list(findings.clean(plan)):
        probed: list[tuple[ColumnMove, int]] = []
        for column in move.columns:
            where = (*move.path, "columns", column.target)
            calls = (
                sorted(volatile & set(column.mapping.transform.functions))
                if column.mapping.transform
                else []
            )
            if calls:
                findings.add(
                    move.name,
                    loaded.issue(
                        where,
                        f"calls {calls[0]}(), which is volatile: the copy and its checksum "
                        "would see different values",
                    ),
                )
                continue
            probe = sql.SQL("SELECT {value} FROM {table} WHERE ({value}) IS NULL LIMIT 0").format(
                value=column.legacy_sql, table=move.legacy.identifier()
            )
            try:
                with source.transaction():
                    cursor = source.execute(probe)
                    assert cursor.description is not None
                    probed.append((column, cursor.description[0].type_code))
            except psycopg.Error as error:
                findings.add(
                    move.name,
                    loaded.issue(where, f"is not a row-level expression here: {reason(error)}"),
                )
        if probed:
            _check_assignable(source, loaded, move, probed, findings)


def _check_assignable(
    source: psycopg.Connection[Any],
    loaded: LoadedMapping,
    move: TableMove,
    probed: list[tuple[ColumnMove, int]],
    findings: Findings,
) -> None:
    rows = source.execute(
        _ASSIGNABLE, ([oid for _, oid in probed], [c.target_type for c, _ in probed])
    ).fetchall()
    for (column, _), (_, legacy_type, known, assignable) in zip(probed, rows, strict=True):
        where = (*move.path, "columns", column.target)
        if not known:
            findings.add(
                move.name,
                loaded.issue(
                    where,
                    f"the legacy server has no type {column.target_type} "
                    f"({move.target}.{column.target}): convert it in a transform",
                ),
            )
        elif not assignable:
            value = column.label if column.mapping.transform is None else f"({column.label})"
            findings.add(
                move.name,
                loaded.issue(
                    where,
                    f"legacy {column.label} is {legacy_type} but {move.target}.{column.target} "
                    f"is {column.target_type}, and PostgreSQL has no implicit or assignment cast "
                    f'between them: convert it in a transform, e.g. {{sql: "{value}::'
                    f'{column.target_type}"}}',
                ),
            )


def check_runs(
    loaded: LoadedMapping,
    plan: MovePlan,
    runs: Mapping[str, RunRecord],
    resume: bool,
    findings: Findings,
) -> None:
    for move in plan.tables:
        record = runs.get(move.name)
        if record is None:
            continue
        when = f"{record.finished_at:%Y-%m-%d %H:%M:%S %Z}".strip()
        if not resume:
            findings.add(
                move.name,
                loaded.issue(
                    move.path,
                    f"{move.target} was copied and verified on {when} ({record.rows} rows); "
                    "pass --resume to continue the move, which skips it",
                ),
            )
        elif record.mapping_digest != move.mapping_digest:
            findings.add(
                move.name,
                loaded.issue(
                    move.path,
                    f"the mapping of {move.name} changed after its rows were copied on {when}: "
                    "the target holds rows of the old mapping; restore the mapping, or empty "
                    f"the table and delete its row in {plan.schema}.edulink_data_migrations",
                ),
            )


def check_empty(
    target: psycopg.Connection[Any], plan: MovePlan, loaded: LoadedMapping, findings: Findings
) -> None:
    """Tables to copy must be empty: the copy never merges into existing rows."""
    moves = list(findings.clean(plan))
    if not moves:
        return
    with target.transaction(force_rollback=True):
        target.execute("SET TRANSACTION READ ONLY")
        act_as(target, plan.group_role)
        for move in moves:
            row = target.execute(
                sql.SQL("SELECT EXISTS (SELECT FROM {})").format(move.target.identifier())
            ).fetchone()
            if row and row[0]:
                findings.add(
                    move.name,
                    loaded.issue(
                        move.path,
                        f"{move.target} already holds rows, and no run record says they were "
                        "copied: the data move only fills empty tables",
                    ),
                )


def count_legacy(
    source: psycopg.Connection[Any], plan: MovePlan, findings: Findings, progress: Progress
) -> None:
    """The legacy row count of every table to copy (the progress bars' totals)."""
    for move in list(findings.clean(plan)):
        progress.phase(f"pre-flight: counting {move.legacy}")
        row = source.execute(
            sql.SQL("SELECT count(*) FROM {}").format(move.legacy.identifier())
        ).fetchone()
        findings.counts[move.name] = int(row[0]) if row else 0


def scan_legacy(
    source: psycopg.Connection[Any],
    loaded: LoadedMapping,
    plan: MovePlan,
    findings: Findings,
    progress: Progress,
) -> None:
    """The dry run's rehearsal: evaluate every transform on every legacy row, and count and
    checksum each table as the copy will.

    A value that fails (a cast, a transform) is reported with its column, found by
    evaluating the table's columns one by one. A real run evaluates them while copying
    instead, where a failure rolls the table back.
    """
    for move in list(findings.clean(plan)):
        progress.phase(f"pre-flight: reading {move.legacy}")
        try:
            with source.transaction():
                checksum = fetch_checksum(source, legacy_checksum_sql(move))
            findings.scans[move.name] = checksum
            findings.counts[move.name] = checksum.rows
        except psycopg.Error as error:
            column, failure = failing_column(source, move, error)
            path = (*move.path, "columns", column.target) if column else move.path
            findings.add(move.name, loaded.issue(path, f"fails on a legacy row: {failure}"))
