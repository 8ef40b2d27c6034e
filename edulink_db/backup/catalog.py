"""One service schema as the server has it: tables, columns, primary keys, every foreign key
into, out of and inside it, sequences, and the migration history. A handful of bulk queries,
whatever the number of tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.bookkeeping import HISTORY_TABLE
from edulink_db.introspect.state import MigrationRecord


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # format_type()
    builtin: bool  # a type of PostgreSQL itself: rows can be checksummed in binary form
    identity_always: bool = False  # GENERATED ALWAYS AS IDENTITY: INSERT must override it


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]  # stored columns (generated ones are computed, never copied)
    primary_key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def binary_rows(self) -> bool:
        return all(c.builtin for c in self.columns)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    schema: str
    table: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_update: str  # pg_constraint.confupdtype: a r c n d
    on_delete: str

    @property
    def referencing(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class SchemaCatalog:
    schema: str
    exists: bool
    tables: Mapping[str, Table]
    foreign_keys: tuple[ForeignKey, ...]
    sequences: Mapping[str, int | None]
    history: tuple[MigrationRecord, ...] | None  # None: no history table

    @property
    def incoming(self) -> list[ForeignKey]:
        """Foreign keys of other schemas that point into this one."""
        return [
            k for k in self.foreign_keys if k.ref_schema == self.schema and k.schema != self.schema
        ]

    @property
    def internal(self) -> list[ForeignKey]:
        return [
            k for k in self.foreign_keys if k.schema == self.schema and k.ref_schema == self.schema
        ]

    def data_tables(self) -> list[Table]:
        """The tables a backup holds, parents first: all but the migration history, which the
        manifest records on its own."""
        names = [n for n in self.tables if n != HISTORY_TABLE]
        edges = [(k.table, k.ref_table) for k in self.internal]
        return [self.tables[n] for n in parents_first(names, edges)]


def parents_first(names: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """`names` ordered so that a referenced table comes before the tables referencing it
    (edges are child → parent); a cycle keeps the given order for what remains."""
    needs: dict[str, set[str]] = {n: set() for n in names}
    for child, parent in edges:
        if child in needs and parent in needs and child != parent:
            needs[child].add(parent)
    order: list[str] = []
    remaining = list(names)
    while remaining:
        ready = next((n for n in remaining if needs[n] <= set(order)), remaining[0])
        order.append(ready)
        remaining.remove(ready)
    return order


_COLUMNS = """
SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.atttypid < 16384,
       a.attidentity = 'a',
       coalesce((SELECT array_agg(pa.attname::text ORDER BY k.i)
                 FROM pg_constraint p
                 CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(num, i)
                 JOIN pg_attribute pa ON pa.attrelid = p.conrelid AND pa.attnum = k.num
                 WHERE p.conrelid = c.oid AND p.contype = 'p'), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND a.attgenerated = ''
ORDER BY c.relname, a.attnum
"""

_FOREIGN_KEYS = """
SELECT k.conname::text, n.nspname::text, c.relname::text,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(num, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.i),
       rn.nspname::text, rc.relname::text,
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(num, i)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.i),
       k.confupdtype::text, k.confdeltype::text
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE k.contype = 'f' AND k.conparentid = 0 AND (n.nspname = %(schema)s OR rn.nspname = %(schema)s)
ORDER BY 2, 3, 1
"""

_SEQUENCES = """
SELECT s.sequencename::text,
       pg_sequence_last_value(format('%%I.%%I', s.schemaname, s.sequencename)::regclass)
FROM pg_sequences s WHERE s.schemaname = %(schema)s ORDER BY 1
"""


def fetch_catalog(conn: psycopg.Connection[Any], schema: str) -> SchemaCatalog:
    params = {"schema": schema}
    found = conn.execute("SELECT to_regnamespace(%(schema)s) IS NOT NULL", params).fetchone()
    exists = bool(found and found[0])
    columns: dict[str, list[Column]] = {}
    keys: dict[str, tuple[str, ...]] = {}
    for table, name, type_, builtin, always, primary in conn.execute(_COLUMNS, params).fetchall():
        columns.setdefault(table, []).append(Column(name, type_, builtin, always))
        keys[table] = tuple(primary)
    tables = {t: Table(t, tuple(cols), keys[t]) for t, cols in columns.items()}
    foreign_keys = tuple(
        ForeignKey(r[0], r[1], r[2], tuple(r[3]), r[4], r[5], tuple(r[6]), r[7], r[8])
        for r in conn.execute(_FOREIGN_KEYS, params).fetchall()
    )
    sequences = {r[0]: r[1] for r in conn.execute(_SEQUENCES, params).fetchall()}
    return SchemaCatalog(
        schema, exists, tables, foreign_keys, sequences, _history(conn, schema, tables)
    )


def _history(
    conn: psycopg.Connection[Any], schema: str, tables: Mapping[str, Table]
) -> tuple[MigrationRecord, ...] | None:
    if HISTORY_TABLE not in tables:
        return None
    rows = conn.execute(
        sql.SQL("SELECT version, name, checksum FROM {} ORDER BY version").format(
            sql.Identifier(schema, HISTORY_TABLE)
        )
    ).fetchall()
    return tuple(MigrationRecord(int(r[0]), str(r[1]), str(r[2])) for r in rows)
