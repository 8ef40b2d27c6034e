"""Why a legacy value failed, worded without quoting what must stay secret."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from edulink_db.datamove.plan import ColumnMove, TableMove


def reason(error: psycopg.Error, withhold: bool = False) -> str:
    """SQLSTATE and the primary message; never DETAIL or CONTEXT, which quote whole rows.

    `withhold` drops the message too: a cast error quotes the value it could not read.
    """
    diag = error.diag
    if withhold:
        return f"[{diag.sqlstate}] (message withheld: the column is secret)"
    primary = diag.message_primary or (str(error).splitlines() or ["unknown error"])[0]
    return f"[{diag.sqlstate}] {primary}"


def failing_column(
    source: psycopg.Connection[Any], move: TableMove, error: psycopg.Error
) -> tuple[ColumnMove | None, str]:
    """Evaluate the table's values one column at a time to find the one that fails.

    Each probe runs in its own savepoint, so the legacy transaction stays usable.
    """
    secret = set(move.secret_columns)
    for column in move.columns:
        query = sql.SQL("SELECT count({}) FROM {}").format(
            column.source_sql, move.legacy.identifier()
        )
        try:
            with source.transaction():
                source.execute(query)
        except psycopg.Error as failed:
            return column, reason(failed, withhold=column.target in secret)
    return None, reason(error, withhold=bool(secret))
