"""Which copied rows a foreign key would reject, reported before a row moves.

For each foreign key of a table to copy, the legacy values of its columns (as the mapping
computes them) must find their row:

* in the legacy rows of the referenced table, when that table is copied in the same run
  (one anti-join on the legacy server);
* otherwise in the target's referenced table as it is now: another service's table that
  must have been moved already (auth before user), or one of this service's tables moved by
  an earlier run. The distinct keys are streamed from the legacy server in batches and looked
  up on the target as the referenced table's owner, which sees what the foreign key sees.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from edulink_db.datamove.catalog import ForeignKey, QualifiedName
from edulink_db.datamove.expression import render_type_name
from edulink_db.datamove.plan import MovePlan, TableMove
from edulink_db.datamove.preflight import Findings
from edulink_db.datamove.runrecord import act_as, fetch_runs
from edulink_db.datamove.sessions import MoveSessions
from edulink_db.errors import Issue

BATCH = 10_000
SAMPLES = 3


def check_references(sessions: MoveSessions, plan: MovePlan, findings: Findings) -> None:
    in_run = {m.target: m for m in plan.tables if not m.already_verified}
    for move in list(findings.clean(plan)):
        for fk in move.foreign_keys:
            keys = [move.column(c) for c in fk.columns]
            if any(k is None for k in keys):
                continue  # a column left to its default (NULL, or a value the target owns)
            sessions.progress.phase(f"pre-flight: checking {move.target} → {fk.referenced}")
            parent = in_run.get(fk.referenced)
            if parent is not None:
                issue = _check_in_legacy(sessions, move, parent, fk)
            else:
                issue = _check_in_target(sessions, plan, move, fk)
            if issue is not None:
                findings.add(move.name, issue)


def _where(move: TableMove, fk: ForeignKey) -> tuple[str | int, ...]:
    return (*move.path, "columns", fk.columns[0])


def _keys_select(move: TableMove, columns: tuple[str, ...]) -> sql.Composed:
    """`SELECT <cast legacy values> AS k0, k1, ... FROM legacy` for these target columns."""
    parts = []
    for index, name in enumerate(columns):
        column = move.column(name)
        assert column is not None
        parts.append(sql.SQL("{} AS {}").format(column.source_sql, sql.Identifier(f"k{index}")))
    return sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(parts), move.legacy.identifier())


def _key_names(alias: str, count: int) -> list[sql.Composable]:
    return [
        sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(f"k{i}"))
        for i in range(count)
    ]


def _check_in_legacy(
    sessions: MoveSessions, move: TableMove, parent: TableMove, fk: ForeignKey
) -> Issue | None:
    source, loaded = sessions.source, sessions.loaded
    unmapped = [c for c in fk.referenced_columns if parent.column(c) is None]
    if unmapped:
        return loaded.issue(
            _where(move, fk),
            f"foreign key {fk.name} points at {fk.referenced}({', '.join(fk.referenced_columns)}), "
            f"but the mapping of {parent.name} leaves {unmapped[0]} to its default: map it from "
            "the legacy key the references use",
        )
    count = len(fk.columns)
    child = _key_names("c", count)
    parents = _key_names("p", count)
    orphans = sql.SQL(
        "FROM ({child}) AS c WHERE {not_null} AND NOT EXISTS "
        "(SELECT FROM ({parent}) AS p WHERE {match})"
    ).format(
        child=_keys_select(move, fk.columns),
        parent=_keys_select(parent, fk.referenced_columns),
        not_null=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(k) for k in child),
        match=sql.SQL(" AND ").join(
            sql.SQL("{} = {}").format(p, c) for p, c in zip(parents, child, strict=True)
        ),
    )
    with source.transaction():
        row = source.execute(sql.SQL("SELECT count(*) {}").format(orphans)).fetchone()
        rows = int(row[0]) if row else 0
        if not rows:
            return None
        samples = source.execute(
            sql.SQL("SELECT DISTINCT concat_ws(', ', {}) {} LIMIT %s").format(
                sql.SQL(", ").join(child), orphans
            ),
            (SAMPLES,),
        ).fetchall()
    return loaded.issue(
        _where(move, fk),
        f"{rows} legacy row(s) of {move.legacy} reference {fk.referenced}"
        f"({', '.join(fk.referenced_columns)}) values that {parent.legacy} does not hold "
        f"(e.g. {'; '.join(str(s[0]) for s in samples)}): foreign key {fk.name} would reject them",
    )


def _check_in_target(
    sessions: MoveSessions, plan: MovePlan, move: TableMove, fk: ForeignKey
) -> Issue | None:
    source, target, loaded = sessions.source, sessions.target, sessions.loaded
    count = len(fk.columns)
    child = _key_names("c", count)
    keys = sql.SQL(
        "SELECT {texts}, count(*) FROM ({select}) AS c WHERE {not_null} GROUP BY {group}"
    ).format(
        texts=sql.SQL(", ").join(sql.SQL("{}::text").format(k) for k in child),
        select=_keys_select(move, fk.columns),
        not_null=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(k) for k in child),
        group=sql.SQL(", ").join(sql.SQL(str(i + 1)) for i in range(count)),
    )
    values = [sql.Identifier(f"v{i}") for i in range(count)]
    lookup = sql.SQL(
        "SELECT k.i FROM unnest({arrays}) WITH ORDINALITY AS k({values}, i) "
        "WHERE NOT EXISTS (SELECT FROM {parent} AS p WHERE {match})"
    ).format(
        arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in range(count)),
        values=sql.SQL(", ").join(values),
        parent=fk.referenced.identifier(),
        match=sql.SQL(" AND ").join(
            sql.SQL("p.{} = CAST(k.{} AS {})").format(
                sql.Identifier(column), value, sql.SQL(render_type_name(type_name))
            )
            for column, value, type_name in zip(
                fk.referenced_columns, values, fk.referenced_types, strict=True
            )
        ),
    )
    missing_rows = 0
    samples: list[str] = []
    try:
        with target.transaction(force_rollback=True):
            target.execute("SET TRANSACTION READ ONLY")
            act_as(target, fk.referenced_owner)
            with source.transaction(), source.cursor(name="edulink_reference_keys") as cursor:
                cursor.execute(keys)
                while batch := cursor.fetchmany(BATCH):
                    arrays = [[row[i] for row in batch] for i in range(count)]
                    for (index,) in target.execute(lookup, arrays).fetchall():
                        row = batch[index - 1]
                        missing_rows += int(row[count])
                        if len(samples) < SAMPLES:
                            samples.append(", ".join(str(v) for v in row[:count]))
            hint = _hint(sessions, plan, fk) if missing_rows else ""
    except psycopg.errors.InsufficientPrivilege as error:
        return loaded.issue(
            _where(move, fk),
            f"cannot check foreign key {fk.name}: the target login cannot act as "
            f"{fk.referenced_owner}, the owner of {fk.referenced} ({error.diag.message_primary}); "
            "connect as the platform admin, a member of every group role",
        )
    if not missing_rows:
        return None
    return loaded.issue(
        _where(move, fk),
        f"{missing_rows} legacy row(s) of {move.legacy} reference {fk.referenced}"
        f"({', '.join(fk.referenced_columns)}) values the target does not hold "
        f"(e.g. {'; '.join(samples)}): foreign key {fk.name} would reject them{hint}",
    )


def _hint(sessions: MoveSessions, plan: MovePlan, fk: ForeignKey) -> str:
    """Why the referenced rows are missing, when the run records can tell."""
    referenced: QualifiedName = fk.referenced
    runs = fetch_runs(sessions.target, referenced.schema)
    if referenced.name in runs:
        return ""
    owner = sessions.services_by_schema.get(referenced.schema)
    if referenced.schema == plan.schema and referenced.name in plan.unmapped:
        return f"; no mapping fills {referenced.name}: map it from its legacy table"
    if referenced.schema == plan.schema:
        return f"; move {referenced.name} first (it is not in this run)"
    if owner is None:
        return ""
    if not runs:
        return (
            f"; {owner} has not been moved yet: move it first "
            f"(edulink-db migrate-data --service {owner})"
        )
    return f"; {referenced} has not been moved yet: move it first (--service {owner})"
