"""What both restores do with a table of the archive: stream its COPY data in (its SHA-256
checked as it streams), and verify a table against the manifest's count and checksum."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from edulink_db.backup.archive import ArchiveReader, BackupError
from edulink_db.backup.manifest import TableEntry
from edulink_db.datamove.verify import Checksum, fetch_checksum, table_checksum_sql


def columns_of(entry: TableEntry) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in entry.column_names)


def copy_in(
    conn: psycopg.Connection[Any], reader: ArchiveReader, entry: TableEntry, into: sql.Composable
) -> None:
    """COPY the table's rows from the archive into `into` (a table of the same columns)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        into, columns_of(entry), sql.SQL(" (FORMAT binary)" if entry.format == "binary" else "")
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in reader.chunks(entry.file, entry.sha256):
            copy.write(chunk)


def verify(
    conn: psycopg.Connection[Any], entry: TableEntry, table: sql.Composable, where: str
) -> Checksum:
    """Raise BackupError unless `table` holds exactly the manifest's rows."""
    found = fetch_checksum(conn, table_checksum_sql(table, entry.column_names, entry.binary_rows))
    expected = Checksum(entry.rows, entry.checksum)
    if found != expected:
        raise BackupError(
            f"{where}: verification failed: the backup's manifest says {expected}, "
            f"the table holds {found}"
        )
    return found


def set_sequence(
    conn: psycopg.Connection[Any], schema: str, name: str, last_value: int | None
) -> None:
    """Where the backup found it: past its last value, or unused (its start value next)."""
    conn.execute(
        "SELECT setval(format('%%I.%%I', s.schemaname, s.sequencename)::regclass,"
        " coalesce(%s, s.start_value), %s IS NOT NULL)"
        " FROM pg_sequences s WHERE s.schemaname = %s AND s.sequencename = %s",
        (last_value, last_value, schema, name),
    )
