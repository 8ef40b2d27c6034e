"""Row count and content checksum of a table, computed by each server over the same values.

The checksum of a row is the first 64 bits of md5 over the row's bytes, the mapped columns in
the mapping's order; the table's checksum is their sum (as numeric, so it never overflows).
A sum is independent of row order and, unlike XOR, counts a duplicated row twice. The legacy
side sums over the transformed, cast SELECT that the COPY streams, the target side over the
columns it wrote, so both hash values of the same types.

The row's bytes are its binary send format, `record_send(ROW(c1, c2, ...))`: the format of
PostgreSQL's wire protocol, the same on every server version and architecture for the
built-in types, and about twice as fast to produce as text (no date or number formatting).
It names each column's type OID, which only a built-in type has in common across databases;
a table with a column of an extension or domain type is checksummed over its canonical text,
`ROW(...)::text` in UTF-8, with both sessions pinned to the same output settings
(`SESSION_SETTINGS`).

md5 rather than `hashtext()`: the two servers may run different major versions, and only
md5's output is fixed by definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

if TYPE_CHECKING:  # the checksums are imported where no plan is compiled (backup, restore)
    from edulink_db.datamove.plan import TableMove


# Every setting that changes the text of a value, pinned on both sides with SET LOCAL.
SESSION_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
    "statement_timeout": "0",
}


@dataclass(frozen=True)
class Checksum:
    rows: int
    digest: str  # decimal sum of the rows' 64-bit hashes

    def __str__(self) -> str:
        return f"{self.rows} rows, checksum {self.digest}"


def pin_settings(conn: psycopg.Connection[Any]) -> None:
    """SET LOCAL every output setting; holds for the current transaction only."""
    names = list(SESSION_SETTINGS)
    conn.execute(
        "SELECT set_config(name, value, true)"
        " FROM unnest(%s::text[], %s::text[]) AS s(name, value)",
        (names, [SESSION_SETTINGS[n] for n in names]),
    )


def _checksum_of(rows: sql.Composable, columns: sql.Composable, binary: bool) -> sql.Composed:
    row_bytes = (
        sql.SQL("record_send(ROW({}))") if binary else sql.SQL("convert_to(ROW({})::text, 'UTF8')")
    ).format(columns)
    return sql.SQL(
        "SELECT count(*), coalesce(sum(('x' || left(md5({row_bytes}), 16))"
        "::bit(64)::bigint), 0)::text FROM ({rows}) AS r"
    ).format(row_bytes=row_bytes, rows=rows)


def legacy_checksum_sql(move: TableMove) -> sql.Composed:
    aliases = [sql.Identifier(f"c{i}") for i in range(len(move.columns))]
    select = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(c.source_sql, alias)
            for c, alias in zip(move.columns, aliases, strict=True)
        ),
        move.legacy.identifier(),
    )
    return _checksum_of(
        select,
        sql.SQL(", ").join(sql.SQL("r.{}").format(a) for a in aliases),
        move.binary_rows,
    )


def target_checksum_sql(move: TableMove) -> sql.Composed:
    return table_checksum_sql(
        move.target.identifier(), [c.target for c in move.columns], move.binary_rows
    )


def table_checksum_sql(table: sql.Composable, columns: Sequence[str], binary: bool) -> sql.Composed:
    """The checksum of `columns` of a table as it is: what the data move computes on its
    target, and what a backup records and a restore verifies."""
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    return _checksum_of(
        sql.SQL("SELECT {} FROM {}").format(names, table),
        sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in columns),
        binary,
    )


def fetch_checksum(conn: psycopg.Connection[Any], query: sql.Composed) -> Checksum:
    row = conn.execute(query).fetchone()
    assert row is not None
    return Checksum(int(row[0]), str(row[1]))
