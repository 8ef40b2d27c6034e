"""Restore a service's schema in place, on the shared database, in ONE transaction.

Nothing is dropped or altered: the schema's tables, indexes, grants, policies and RLS
settings stay the platform's (a `pulumi up` afterwards has nothing to do), and so do the
other services' foreign keys into the schema. What changes is rows:

1. Refuse unless the schema is at the backup's migration history and has the backup's
   tables and columns.
2. Take the data move's schema lock, and ACCESS EXCLUSIVE locks on the schema's tables (the
   service waits; `lock_timeout` bounds how long the restore waits for them).
3. Tables that other schemas reference ("anchored", with every table they reference in
   turn) are staged from the file into temporary tables. Every key another schema's rows
   hold must be among the staged rows, or the restore is refused, naming the referencing
   tables — before anything changed.
4. The other tables are emptied with one TRUNCATE (no CASCADE: none of them is referenced
   from outside the set) and refilled by COPY, their own indexes and keys dropped meanwhile
   and re-created after, as pg_restore does (`bulk`); anchored tables are merged by primary
   key: rows the backup lacks deleted (none is referenced from outside, by step 3), the rest
   inserted or updated. Parents are filled before children.
5. Every table must then match the manifest's count and checksum, and every referencing
   table of another schema must hold the same rows in its foreign-key columns as before.

Any failure, or the connection dropping (a server restart), rolls everything back: the old
rows stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.backup.archive import ArchiveReader, BackupError
from edulink_db.backup.bulk import bulk_tables, indexes_deferred
from edulink_db.backup.catalog import SchemaCatalog, Table, fetch_catalog
from edulink_db.backup.load import columns_of, copy_in, set_sequence, verify
from edulink_db.backup.manifest import Manifest, TableEntry
from edulink_db.backup.references import changed_keys, differences, fingerprint, orphans
from edulink_db.backup.session import prepare_transaction
from edulink_db.datamove.runrecord import lock_key
from edulink_db.errors import Issue, ValidationFailed


@dataclass(frozen=True)
class InPlaceResult:
    merged: tuple[str, ...]  # anchored tables, merged by primary key
    replaced: tuple[str, ...]  # emptied and refilled
    references: int  # foreign keys of other schemas checked


def restore_in_place(
    conn: psycopg.Connection[Any], reader: ArchiveReader, lock_timeout: str
) -> InPlaceResult:
    manifest = reader.manifest
    schema = manifest.schema_name
    with conn.transaction():
        prepare_transaction(conn)
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (lock_timeout,))
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
        catalog = fetch_catalog(conn, schema)
        _ensure_compatible(reader.path, catalog, manifest)
        names = [t.name for t in manifest.tables]
        conn.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.SQL(", ").join(sql.Identifier(schema, n) for n in names)
            )
        )
        catalog = fetch_catalog(conn, schema)  # as it is now that nobody else can change it
        anchored = anchored_tables(catalog)
        stages = _stage(conn, reader, manifest, anchored)
        _refuse_orphans(conn, reader.path, catalog, stages)
        before = fingerprint(conn, catalog.incoming)
        replaced = [n for n in names if n not in anchored]
        if replaced:
            conn.execute(
                sql.SQL("TRUNCATE {}").format(
                    sql.SQL(", ").join(sql.Identifier(schema, n) for n in replaced)
                )
            )
        with indexes_deferred(conn, schema, bulk_tables(manifest.tables, replaced)):
            for entry in reversed(manifest.tables):
                if entry.name in anchored:
                    _delete_missing(conn, schema, catalog.tables[entry.name], stages[entry.name])
            for entry in manifest.tables:
                if entry.name in anchored:
                    _upsert(conn, schema, catalog.tables[entry.name], entry, stages[entry.name])
                else:
                    copy_in(conn, reader, entry, sql.Identifier(schema, entry.name))
        for sequence in manifest.sequences:
            set_sequence(conn, schema, sequence.name, sequence.last_value)
        for entry in manifest.tables:
            verify(conn, entry, sql.Identifier(schema, entry.name), f"{schema}.{entry.name}")
        changed = differences(before, fingerprint(conn, catalog.incoming))
        if changed:
            raise BackupError(
                "the restore would have changed other services' rows, so it was rolled back: "
                + "; ".join(changed)
            )
    return InPlaceResult(
        merged=tuple(n for n in names if n in anchored),
        replaced=tuple(replaced),
        references=len(catalog.incoming),
    )


def anchored_tables(catalog: SchemaCatalog) -> set[str]:
    """Tables other schemas reference, and every table of the schema those reference in turn
    (a table referenced by one that is not emptied cannot be emptied either)."""
    anchored = {k.ref_table for k in catalog.incoming}
    grew = True
    while grew:
        grew = False
        for key in catalog.internal:
            if key.table in anchored and key.ref_table not in anchored:
                anchored.add(key.ref_table)
                grew = True
    return anchored


def _issue(path: Path, where: str, message: str) -> Issue:
    return Issue(str(path), where, message)


def _ensure_compatible(path: Path, catalog: SchemaCatalog, manifest: Manifest) -> None:
    """The schema must be what the backup was taken of: same history, tables, columns."""
    schema = manifest.schema_name
    if not catalog.exists:
        raise ValidationFailed(
            [
                _issue(
                    path,
                    "",
                    f"the database has no schema {schema}: deploy it first, or "
                    "restore without --in-place into a scratch database",
                )
            ]
        )
    issues: list[Issue] = []
    recorded = [(m.version, m.checksum) for m in manifest.migrations]
    live = [(m.version, m.checksum) for m in catalog.history or ()]
    if recorded != live:
        backup = ", ".join(f"{m.version:04d}_{m.name}" for m in manifest.migrations) or "none"
        now = ", ".join(f"{m.version:04d}_{m.name}" for m in catalog.history or ()) or "none"
        issues.append(
            _issue(
                path,
                "migrations",
                f"the backup was taken at migrations [{backup}], "
                f"{schema} is at [{now}]: restore into a scratch database and move the rows "
                "over, or bring the schema to the backup's migrations",
            )
        )
    live_tables = {t.name: t for t in catalog.data_tables()}
    for entry in manifest.tables:
        table = live_tables.get(entry.name)
        if table is None:
            issues.append(
                _issue(path, f"tables.{entry.name}", f"{schema} has no table {entry.name}")
            )
            continue
        backup_columns = [(c.name, c.type) for c in entry.columns]
        live_columns = [(c.name, c.type) for c in table.columns]
        if backup_columns != live_columns:
            issues.append(
                _issue(
                    path,
                    f"tables.{entry.name}",
                    f"{schema}.{entry.name} has columns "
                    f"{_columns(live_columns)}, the backup {_columns(backup_columns)}",
                )
            )
    for name in sorted(set(live_tables) - {t.name for t in manifest.tables}):
        issues.append(
            _issue(
                path,
                "tables",
                f"{schema}.{name} is not in the backup: it would keep rows "
                "the backup does not describe",
            )
        )
    if issues:
        raise ValidationFailed(issues)


def _columns(columns: Sequence[tuple[str, str]]) -> str:
    return "(" + ", ".join(f"{n} {t}" for n, t in columns) + ")"


def _stage(
    conn: psycopg.Connection[Any],
    reader: ArchiveReader,
    manifest: Manifest,
    anchored: set[str],
) -> dict[str, sql.Identifier]:
    """The backup's rows of each anchored table in a temporary table, verified."""
    stages: dict[str, sql.Identifier] = {}
    for index, entry in enumerate(manifest.tables):
        if entry.name not in anchored:
            continue
        stage = sql.Identifier(f"edulink_restore_{index}")
        conn.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
            ).format(stage, columns_of(entry), sql.Identifier(manifest.schema_name, entry.name))
        )
        copy_in(conn, reader, entry, stage)
        verify(conn, entry, stage, f"{manifest.schema_name}.{entry.name} in the backup")
        stages[entry.name] = stage
    return stages


def _refuse_orphans(
    conn: psycopg.Connection[Any],
    path: Path,
    catalog: SchemaCatalog,
    stages: dict[str, sql.Identifier],
) -> None:
    issues: list[Issue] = []
    for key in catalog.incoming:
        target = f"{key.ref_schema}.{key.ref_table}"
        count, samples = orphans(conn, key, stages[key.ref_table])
        if count:
            issues.append(
                _issue(
                    path,
                    f"references.{key.referencing}",
                    f"{key.referencing} holds {count} "
                    f"row(s) whose {', '.join(key.columns)} reference {target} rows the "
                    f"backup does not have (e.g. {'; '.join(samples)}): restoring would "
                    f"orphan them (foreign key {key.name})",
                )
            )
        table = catalog.tables[key.ref_table]
        moved = changed_keys(conn, key, table, stages[key.ref_table])
        if moved:
            issues.append(
                _issue(
                    path,
                    f"references.{key.referencing}",
                    f"the backup changes "
                    f"{', '.join(key.ref_columns)} of {moved} {target} row(s) that "
                    f"{key.referencing} references, and foreign key {key.name} would "
                    "rewrite its rows",
                )
            )
    if issues:
        raise ValidationFailed(issues)


def _delete_missing(
    conn: psycopg.Connection[Any], schema: str, table: Table, stage: sql.Identifier
) -> None:
    if not table.primary_key:
        raise BackupError(
            f"{schema}.{table.name} is referenced from other schemas but has no primary key: "
            "its rows cannot be matched to the backup's; nothing was changed"
        )
    conn.execute(
        sql.SQL("DELETE FROM {} AS t WHERE NOT EXISTS (SELECT FROM {} AS s WHERE {})").format(
            sql.Identifier(schema, table.name),
            stage,
            sql.SQL(" AND ").join(
                sql.SQL("s.{0} = t.{0}").format(sql.Identifier(c)) for c in table.primary_key
            ),
        )
    )


def _upsert(
    conn: psycopg.Connection[Any],
    schema: str,
    table: Table,
    entry: TableEntry,
    stage: sql.Identifier,
) -> None:
    """Insert the backup's rows, updating those whose primary key exists (only where a
    value differs, so unchanged rows are not rewritten)."""
    rest = [c for c in entry.column_names if c not in table.primary_key]
    target = sql.Identifier(schema, table.name)
    overriding = (
        sql.SQL(" OVERRIDING SYSTEM VALUE")
        if any(c.identity_always for c in table.columns)
        else sql.SQL("")
    )
    action: sql.Composable
    if rest:
        action = sql.SQL("DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})").format(
            sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in rest
            ),
            sql.SQL(", ").join(sql.SQL("{}.{}").format(target, sql.Identifier(c)) for c in rest),
            sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in rest),
        )
    else:
        action = sql.SQL("DO NOTHING")
    conn.execute(
        sql.SQL("INSERT INTO {} ({}){} SELECT {} FROM {} ON CONFLICT ({}) {}").format(
            target,
            columns_of(entry),
            overriding,
            columns_of(entry),
            stage,
            sql.SQL(", ").join(sql.Identifier(c) for c in table.primary_key),
            action,
        )
    )
