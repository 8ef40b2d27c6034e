"""Load tables the way pg_restore does: rows first, then indexes and keys.

Filling a table through its indexes and foreign keys costs a B-tree insertion per index and
a lookup per foreign key for every row; building an index over the loaded rows is one sort,
and checking a foreign key afterwards is one join. So, inside the restore's transaction and
under its ACCESS EXCLUSIVE locks, the indexes, keys and foreign keys OF THE TABLES BEING
REFILLED are dropped, the rows copied, and all of them created again from the server's own
definitions (`pg_get_indexdef`, `pg_get_constraintdef`), with their comments. Foreign keys of
other schemas are never touched: the tables they point at are not in the set. Afterwards the
definitions are read again and must be exactly the ones read before, or the transaction
rolls back: what the platform deployed is what stays.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.backup.archive import BackupError
from edulink_db.backup.manifest import TableEntry

# Below this many rows, re-creating a table's indexes costs more statements than it saves.
BULK_ROWS = 10_000


def bulk_tables(entries: Sequence[TableEntry], among: Sequence[str]) -> list[str]:
    """The tables of `among` large enough to be loaded before their indexes."""
    return [e.name for e in entries if e.name in among and e.rows >= BULK_ROWS]


@dataclass(frozen=True, order=True)
class Definition:
    kind: str  # "foreign key", "key" (primary, unique, exclusion), "index"
    table: str
    name: str
    text: str  # the server's definition: pg_get_constraintdef or pg_get_indexdef
    comment: str | None


_DEFINITIONS = """
SELECT CASE k.contype WHEN 'f' THEN 'foreign key' ELSE 'key' END, c.relname::text,
       k.conname::text, pg_get_constraintdef(k.oid), obj_description(k.oid, 'pg_constraint')
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relname = ANY(%(tables)s)
  AND k.contype IN ('p', 'u', 'x', 'f') AND k.conparentid = 0
UNION ALL
SELECT 'index', t.relname::text, i.relname::text, pg_get_indexdef(i.oid),
       obj_description(i.oid, 'pg_class')
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = to_regnamespace(%(schema)s) AND t.relname = ANY(%(tables)s)
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = x.indexrelid
                  AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))
"""


def fetch_definitions(
    conn: psycopg.Connection[Any], schema: str, tables: Sequence[str]
) -> list[Definition]:
    rows = conn.execute(_DEFINITIONS, {"schema": schema, "tables": list(tables)}).fetchall()
    return sorted(Definition(*row) for row in rows)


def _drop(conn: psycopg.Connection[Any], schema: str, found: Sequence[Definition]) -> None:
    for kind in ("foreign key", "key"):  # a foreign key depends on the key it points at
        for item in (d for d in found if d.kind == kind):
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(schema, item.table), sql.Identifier(item.name)
                )
            )
    indexes = [d for d in found if d.kind == "index"]
    if indexes:
        conn.execute(
            sql.SQL("DROP INDEX {}").format(
                sql.SQL(", ").join(sql.Identifier(schema, d.name) for d in indexes)
            )
        )


def _create(conn: psycopg.Connection[Any], schema: str, found: Sequence[Definition]) -> None:
    # The definitions are the server's own text for these very objects, read a moment ago in
    # this transaction; they are executed as they were rendered, never edited.
    for kind in ("index", "key", "foreign key"):
        for item in (d for d in found if d.kind == kind):
            table = sql.Identifier(schema, item.table)
            if kind == "index":
                conn.execute(sql.SQL(item.text))
                target = sql.SQL("INDEX {}").format(sql.Identifier(schema, item.name))
            else:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                        table,
                        sql.Identifier(item.name),
                        sql.SQL(item.text),
                    )
                )
                target = sql.SQL("CONSTRAINT {} ON {}").format(sql.Identifier(item.name), table)
            if item.comment is not None:
                conn.execute(
                    sql.SQL("COMMENT ON {} IS {}").format(target, sql.Literal(item.comment))
                )


@contextmanager
def indexes_deferred(
    conn: psycopg.Connection[Any], schema: str, tables: Sequence[str]
) -> Iterator[None]:
    """Inside a transaction holding the tables locked: drop their indexes, keys and foreign
    keys; the caller loads the rows; create them again and check they are as before."""
    if not tables:
        yield
        return
    before = fetch_definitions(conn, schema, tables)
    _drop(conn, schema, before)
    yield
    _create(conn, schema, before)
    after = fetch_definitions(conn, schema, tables)
    if after != before:
        changed = sorted(set(before) ^ set(after))
        raise BackupError(
            f"the indexes and keys of {schema} were not re-created as they were "
            f"({', '.join(f'{d.kind} {d.name}' for d in changed[:5])}); the transaction was "
            "rolled back"
        )
