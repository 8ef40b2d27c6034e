"""What was copied and verified, kept in the service's own schema.

`<schema>.edulink_data_migrations` is created by the service's group role, like the
migration history `<schema>.edulink_migrations`: it belongs to the service and moves with it.
A row is written in the same transaction as the table's rows, so a table is either copied,
verified and recorded, or none of the three.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.bookkeeping import RUN_TABLE


@dataclass(frozen=True)
class RunRecord:
    service: str
    table_name: str
    legacy_table: str
    rows: int
    checksum: str
    mapping_digest: str
    started_at: datetime
    finished_at: datetime


def lock_key(schema: str) -> int:
    """The transaction-scoped advisory lock that serialises data moves into one schema."""
    digest = hashlib.sha256(f"edulink-db:data-move:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def act_as(conn: psycopg.Connection[Any], role: str) -> None:
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))


def ensure_run_table(conn: psycopg.Connection[Any], schema: str, role: str) -> None:
    """Create the record table as the group role; call inside a transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
    act_as(conn, role)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " table_name text PRIMARY KEY,"
            " service text NOT NULL,"
            " legacy_table text NOT NULL,"
            " rows bigint NOT NULL,"
            " checksum text NOT NULL,"
            " mapping_digest text NOT NULL,"
            " started_at timestamptz NOT NULL,"
            " finished_at timestamptz NOT NULL,"
            " run_by text NOT NULL DEFAULT session_user)"
        ).format(sql.Identifier(schema, RUN_TABLE))
    )


def fetch_runs(conn: psycopg.Connection[Any], schema: str) -> dict[str, RunRecord]:
    """The records of a schema, or none when nothing was ever recorded there."""
    row = conn.execute(
        "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL", (schema, RUN_TABLE)
    ).fetchone()
    if not row or not row[0]:
        return {}
    rows = conn.execute(
        sql.SQL(
            "SELECT service, table_name, legacy_table, rows, checksum, mapping_digest,"
            " started_at, finished_at FROM {}"
        ).format(sql.Identifier(schema, RUN_TABLE))
    ).fetchall()
    return {r[1]: RunRecord(*r) for r in rows}


def insert_run(conn: psycopg.Connection[Any], schema: str, record: RunRecord) -> None:
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (table_name, service, legacy_table, rows, checksum, mapping_digest,"
            " started_at, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, clock_timestamp())"
        ).format(sql.Identifier(schema, RUN_TABLE)),
        (
            record.table_name,
            record.service,
            record.legacy_table,
            record.rows,
            record.checksum,
            record.mapping_digest,
            record.started_at,
        ),
    )
