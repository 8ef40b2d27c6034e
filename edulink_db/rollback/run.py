"""`rollback_service`: the service's schema, copied back into a standalone database shaped
like its legacy one, verified.

The service's schema is read in one `REPEATABLE READ READ ONLY` snapshot (row-level
security off, so every row or an error); the standalone database is written in ONE
transaction: the legacy schema and tables are made where they do not exist (names from the
mapping, types from the service's columns where a column comes back as it is, text
otherwise; a primary key where the service's comes back exactly), or filled where they do
(an empty database made by the legacy service's own migrations, whose NOT NULL columns must
then all come back). Each table is then verified with the data move's checksums: the ORIGINAL
mapping, run over the rolled-back rows, must give exactly the service's rows (the columns
it can give back). A failure leaves the standalone database as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.backup.catalog import SchemaCatalog, fetch_catalog
from edulink_db.backup.session import connect, prepare_transaction, reason
from edulink_db.catalogue.load import load_catalogue
from edulink_db.datamove.catalog import QualifiedName, fetch_target_tables
from edulink_db.datamove.errors import DataMoveError
from edulink_db.datamove.mapping import LoadedMapping, load_mapping
from edulink_db.datamove.plan import TableMove, compile_move
from edulink_db.datamove.runrecord import fetch_runs
from edulink_db.datamove.verify import (
    Checksum,
    fetch_checksum,
    legacy_checksum_sql,
    pin_settings,
    target_checksum_sql,
)
from edulink_db.dsn import describe_dsn
from edulink_db.errors import Issue, ValidationFailed, ensure_no_issues
from edulink_db.rollback.inverse import InversePlan, InverseTable, invert_mapping

APPLICATION_NAME = "edulink-db rollback"
CHUNK = 256 * 1024


class RollbackError(DataMoveError):
    """The rollback failed; its transaction on the standalone database was rolled back."""


@dataclass(frozen=True)
class RollbackRequest:
    root: Path
    service: str
    source: str  # the platform's database, as the admin
    target: str  # the standalone database
    mapping_dir: Path | None = None

    def __repr__(self) -> str:  # DSNs may hold passwords
        return f"RollbackRequest(service={self.service!r})"


@dataclass(frozen=True)
class TableRollback:
    target: str
    legacy: str
    rows: int
    checksum: str
    created: bool
    verified: tuple[str, ...]  # service columns the checksum covers
    not_verified: tuple[str, ...]  # service columns whose legacy columns do not come back


@dataclass(frozen=True)
class RollbackReport:
    plan: InversePlan
    tables: tuple[TableRollback, ...]
    target: str  # where, without credentials
    seconds: float


@dataclass(frozen=True)
class LegacyColumn:
    name: str
    required: bool  # NOT NULL without a default: it must come back
    serial: bool  # filled by a sequence, which must move past the copied values


@dataclass(frozen=True)
class _Sessions:
    """The service's schema, read from `source` in one snapshot, and the standalone
    database, written through `target` in one transaction; `inverse` names the schemas on
    both sides. Every step of the copy reads these together."""

    source: psycopg.Connection[Any]
    target: psycopg.Connection[Any]
    inverse: InversePlan


def rollback_service(request: RollbackRequest) -> RollbackReport:
    """Raise ValidationFailed (refused, nothing written) or RollbackError (rolled back)."""
    started = time.monotonic()
    loaded = load_mapping(
        request.root, request.service, load_catalogue(request.root), request.mapping_dir
    )
    inverse = invert_mapping(loaded)
    with (
        connect(request.source, APPLICATION_NAME) as source,
        connect(request.target, APPLICATION_NAME) as target,
    ):
        source.read_only = True
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            with source.transaction(force_rollback=True), target.transaction():
                prepare_transaction(source)
                pin_settings(target)
                results = _roll_back(_Sessions(source, target, inverse), loaded)
        except psycopg.Error as error:
            raise RollbackError(
                f"the rollback of {request.service} failed: {reason(error)}; the standalone "
                "database's transaction was rolled back, nothing was written"
            ) from error
    return RollbackReport(
        inverse, tuple(results), describe_dsn(request.target), time.monotonic() - started
    )


def _roll_back(sessions: _Sessions, loaded: LoadedMapping) -> list[TableRollback]:
    source, target, inverse = sessions.source, sessions.target, sessions.inverse
    schema = inverse.schema
    if not fetch_runs(source, schema):
        raise ValidationFailed(
            [
                Issue(
                    loaded.file,
                    "",
                    f"{inverse.service} was never moved here ({schema} has no "
                    "data-move record): a rollback inverts the move, and there was none",
                )
            ]
        )
    catalog = fetch_catalog(source, schema)
    plan, issues = compile_move(loaded, fetch_target_tables(source, schema))
    ensure_no_issues(issues)
    existing = _legacy_tables(target, inverse.legacy_schema)
    ensure_no_issues(_preflight(target, loaded, inverse, existing))
    target.execute(
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(inverse.legacy_schema))
    )
    results = []
    for move in plan.tables:  # parents first
        table = inverse.table(move.name)
        assert table is not None
        created = table.legacy not in existing
        if created:
            _create(target, inverse.legacy_schema, table, catalog, move)
        rows = _copy(sessions, table)
        _advance_sequences(target, inverse.legacy_schema, table, existing.get(table.legacy, {}))
        results.append(_verify(sessions, table, move, rows, created))
    return results


_LEGACY_COLUMNS = """
SELECT c.relname::text, a.attname::text, a.attnotnull AND NOT a.atthasdef AND a.attidentity = '',
       pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname) IS NOT NULL
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
"""


def _legacy_tables(
    conn: psycopg.Connection[Any], schema: str
) -> dict[str, dict[str, LegacyColumn]]:
    found: dict[str, dict[str, LegacyColumn]] = {}
    for table, column, required, serial in conn.execute(_LEGACY_COLUMNS, (schema,)).fetchall():
        found.setdefault(table, {})[column] = LegacyColumn(column, required, serial)
    return found


def _preflight(
    conn: psycopg.Connection[Any],
    loaded: LoadedMapping,
    inverse: InversePlan,
    existing: dict[str, dict[str, LegacyColumn]],
) -> list[Issue]:
    """An existing legacy table must be empty, have every column that comes back, and not
    require one that does not."""
    issues: list[Issue] = []
    for table in inverse.tables:
        columns = existing.get(table.legacy)
        if columns is None:
            continue
        where = ("tables", table.target)
        name = sql.Identifier(inverse.legacy_schema, table.legacy)
        row = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(name)).fetchone()
        if row and row[0]:
            issues.append(
                loaded.issue(
                    where,
                    f"{inverse.legacy_schema}.{table.legacy} holds "
                    "rows: roll back into an empty database",
                )
            )
        for column in table.columns:
            if column.legacy not in columns:
                issues.append(
                    loaded.issue(
                        where,
                        f"{inverse.legacy_schema}.{table.legacy} has no column {column.legacy}",
                    )
                )
        lost = dict(table.lost)
        for legacy in columns.values():
            if legacy.required and legacy.name not in table.restored:
                why = lost.get(legacy.name, "no mapping reads it")
                issues.append(
                    loaded.issue(
                        where,
                        f"{inverse.legacy_schema}.{table.legacy}."
                        f"{legacy.name} is NOT NULL without a default, and "
                        f"the rollback cannot give it back ({why})",
                    )
                )
    return issues


def _create(
    conn: psycopg.Connection[Any],
    schema: str,
    table: InverseTable,
    catalog: SchemaCatalog,
    move: TableMove,
) -> None:
    types = {c.name: c.type for c in catalog.tables[table.target].columns}
    parts: list[sql.Composable] = []
    for column in table.columns:
        plain = column.fidelity == "exact" and column.mapping == column.target
        kind = _type(move, column.target) if plain else "text"
        parts.append(sql.SQL("{} {}").format(sql.Identifier(column.legacy), sql.SQL(kind)))
    by_target = {c.target: c for c in table.columns if c.fidelity == "exact"}
    key = catalog.tables[table.target].primary_key
    if key and all(k in by_target for k in key):
        parts.append(
            sql.SQL("PRIMARY KEY ({})").format(
                sql.SQL(", ").join(sql.Identifier(by_target[k].legacy) for k in key)
            )
        )
    assert types  # the service's table exists
    conn.execute(
        sql.SQL("CREATE TABLE {} ({})").format(
            sql.Identifier(schema, table.legacy), sql.SQL(", ").join(parts)
        )
    )


def _type(move: TableMove, target: str) -> str:
    """The column's type, as the data move renders it (parsed, never pasted)."""
    column = move.column(target)
    return column.target_type if column else "text"


def _copy(sessions: _Sessions, table: InverseTable) -> int:
    source, target = sessions.source, sessions.target
    select = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(
        sql.SQL(", ").join(c.value for c in table.columns),
        sql.Identifier(sessions.inverse.schema, table.target),
    )
    insert = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(sessions.inverse.legacy_schema, table.legacy),
        sql.SQL(", ").join(sql.Identifier(c.legacy) for c in table.columns),
    )
    rows = 0
    with (
        source.cursor() as reading,
        reading.copy(select) as out,
        target.cursor() as writing,
        writing.copy(insert) as into,
    ):
        buffer = bytearray()
        for data in out:
            buffer += data
            if len(buffer) >= CHUNK:
                rows += buffer.count(b"\n")
                into.write(buffer)
                buffer = bytearray()
        rows += buffer.count(b"\n")
        into.write(buffer)
    return rows


def _advance_sequences(
    conn: psycopg.Connection[Any],
    schema: str,
    table: InverseTable,
    columns: dict[str, LegacyColumn],
) -> None:
    """Serial columns of an existing legacy table continue after the copied values."""
    for column in table.columns:
        found = columns.get(column.legacy)
        if found is None or not found.serial:
            continue
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, %s), max({column}))"
                " FROM {table} HAVING max({column}) IS NOT NULL"
            ).format(
                column=sql.Identifier(column.legacy), table=sql.Identifier(schema, table.legacy)
            ),
            (f"{schema}.{table.legacy}", column.legacy),
        )


def _verify(
    sessions: _Sessions, table: InverseTable, move: TableMove, rows: int, created: bool
) -> TableRollback:
    """The original mapping over the rolled-back rows must give the service's rows."""
    legacy_schema = sessions.inverse.legacy_schema
    restored = table.restored
    covered = tuple(c for c in move.columns if set(c.mapping.reads) <= restored)
    checked = replace(move, columns=covered, legacy=QualifiedName(legacy_schema, table.legacy))
    expected = fetch_checksum(sessions.source, target_checksum_sql(checked))
    found: Checksum = fetch_checksum(sessions.target, legacy_checksum_sql(checked))
    if found != expected or rows != expected.rows:
        raise RollbackError(
            f"{legacy_schema}.{table.legacy}: verification failed: the service's "
            f"{move.target} gives {expected}, the mapping over the rolled-back rows gives "
            f"{found} ({rows} rows copied); the standalone database's transaction was rolled "
            "back"
        )
    return TableRollback(
        target=str(move.target),
        legacy=f"{legacy_schema}.{table.legacy}",
        rows=rows,
        checksum=found.digest,
        created=created,
        verified=tuple(c.target for c in covered),
        not_verified=tuple(c.target for c in move.columns if c not in covered),
    )
