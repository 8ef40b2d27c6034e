"""The platform's own tables in each service's schema, beside the tables its migrations create.

Both are created by the service's group role and move with the schema: the migration history
(`migrations.runner`) and the record of data moved from the legacy server
(`datamove.runrecord`). The audit reads them as the platform's, not as unclassified tables.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

HISTORY_TABLE = "edulink_migrations"
RUN_TABLE = "edulink_data_migrations"


def create_history_table(
    conn: psycopg.Connection[Any], schema: str, *, if_not_exists: bool = False
) -> None:
    """The migration history table, as the runner makes it and a restore drill remakes it."""
    create = "CREATE TABLE IF NOT EXISTS {} (" if if_not_exists else "CREATE TABLE {} ("
    conn.execute(
        sql.SQL(
            create + " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(),"
            " applied_by text NOT NULL DEFAULT session_user)"
        ).format(sql.Identifier(schema, HISTORY_TABLE))
    )
