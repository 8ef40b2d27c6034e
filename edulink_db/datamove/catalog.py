"""What the two databases hold: one bulk catalog read per side.

`fetch_target_tables` reads the service's schema on the new database (columns with their
types, defaults, identity and serial sequences, row-level security, foreign keys with the
types and owners of what they point at); `fetch_legacy_tables` reads the legacy schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql


@dataclass(frozen=True, order=True)
class QualifiedName:
    schema: str
    name: str

    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type: str  # format_type(): `timestamp with time zone`, `numeric(5,2)`
    builtin: bool  # a type of PostgreSQL itself (its OID is the same in every database)
    not_null: bool
    has_default: bool
    generated: bool  # GENERATED ALWAYS AS (...) STORED: computed, never copied
    identity: bool
    sequence: QualifiedName | None  # owned by a serial or identity column


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    referenced: QualifiedName
    referenced_columns: tuple[str, ...]
    referenced_types: tuple[str, ...]
    referenced_owner: str


@dataclass(frozen=True)
class TargetTable:
    name: QualifiedName
    owner: str
    row_security: bool
    force_row_security: bool
    columns: dict[str, TargetColumn]
    foreign_keys: tuple[ForeignKey, ...]


@dataclass(frozen=True)
class LegacyTable:
    name: QualifiedName
    is_table: bool  # a table (not a view): one that must be mapped or skipped
    columns: dict[str, str]  # name -> format_type()


_TARGET_COLUMNS = """
SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity,
       a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid < 16384, a.attnotnull,
       a.atthasdef,
       a.attgenerated <> '', a.attidentity <> '', sn.nspname, s.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
     AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
LEFT JOIN pg_namespace sn ON sn.oid = s.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
"""

_FOREIGN_KEYS = """
SELECT c.relname, con.conname,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.i),
       rn.nspname, rc.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.i),
       ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM unnest(con.confkey)
             WITH ORDINALITY k(num, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.i),
       pg_get_userbyid(rc.relowner)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND n.nspname = %s
ORDER BY c.relname, con.conname
"""

_LEGACY_COLUMNS = """
SELECT c.relname, c.relkind IN ('r', 'p'), a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY c.relname, a.attnum
"""


def fetch_target_tables(conn: psycopg.Connection[Any], schema: str) -> dict[str, TargetTable]:
    columns: dict[str, dict[str, TargetColumn]] = {}
    heads: dict[str, tuple[str, bool, bool]] = {}
    for row in conn.execute(_TARGET_COLUMNS, (schema,)).fetchall():
        table, owner, rls, force, name, type_, builtin, not_null, default = row[:9]
        generated, identity = row[9:11]
        sequence = QualifiedName(row[11], row[12]) if row[12] is not None else None
        heads[table] = (owner, rls, force)
        columns.setdefault(table, {})[name] = TargetColumn(
            name, type_, builtin, not_null, default, generated, identity, sequence
        )
    keys: dict[str, list[ForeignKey]] = {}
    for row in conn.execute(_FOREIGN_KEYS, (schema,)).fetchall():
        table, name, cols, ref_schema, ref_table, ref_cols, ref_types, ref_owner = row
        keys.setdefault(table, []).append(
            ForeignKey(
                name,
                tuple(cols),
                QualifiedName(ref_schema, ref_table),
                tuple(ref_cols),
                tuple(ref_types),
                ref_owner,
            )
        )
    return {
        table: TargetTable(
            QualifiedName(schema, table),
            heads[table][0],
            heads[table][1],
            heads[table][2],
            cols,
            tuple(keys.get(table, ())),
        )
        for table, cols in columns.items()
    }


def fetch_legacy_tables(conn: psycopg.Connection[Any], schema: str) -> dict[str, LegacyTable]:
    tables: dict[str, LegacyTable] = {}
    for table, is_table, column, type_ in conn.execute(_LEGACY_COLUMNS, (schema,)).fetchall():
        entry = tables.setdefault(table, LegacyTable(QualifiedName(schema, table), is_table, {}))
        entry.columns[column] = type_
    return tables


def fetch_schema_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    row = conn.execute("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)", (schema,))
    found = row.fetchone()
    return bool(found and found[0])
