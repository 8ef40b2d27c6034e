"""How backup and restore reach the database: the admin's login, settings pinned for the
transaction, and errors worded without the DSN's password or any row's values."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from edulink_db.backup.archive import BackupError
from edulink_db.datamove.verify import pin_settings
from edulink_db.dsn import describe_dsn

CONNECT_TIMEOUT_S = 10

# Row-level security off for the transaction: a read or write that a policy would filter
# fails instead (42501) — a backup never silently misses rows, a restore never silently
# skips them. Reading every row needs BYPASSRLS, as for pg_dump.
ROW_SECURITY_OFF = "SELECT pg_catalog.set_config('row_security', 'off', true)"


def connect(dsn: str, application: str) -> psycopg.Connection[Any]:
    try:
        params: dict[str, Any] = dict(conninfo_to_dict(dsn))
    except psycopg.ProgrammingError:
        raise BackupError("the DSN is not a valid connection string") from None
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    params["application_name"] = application
    params["client_encoding"] = "UTF8"
    try:
        return psycopg.connect(prepare_threshold=None, **params)
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "unknown error"
        raise BackupError(f"cannot connect to {describe_dsn(dsn)}: {first}") from error


def prepare_transaction(conn: psycopg.Connection[Any]) -> None:
    """Inside a transaction: the data move's output settings (so COPY text and checksums
    mean the same on both sides) and row-level security off."""
    pin_settings(conn)
    conn.execute(ROW_SECURITY_OFF)


def reason(error: psycopg.Error) -> str:
    """SQLSTATE and primary message; never DETAIL, which quotes rows."""
    primary = error.diag.message_primary or (str(error).splitlines() or ["unknown error"])[0]
    if error.diag.sqlstate is None:
        return f"the connection was lost ({primary})"
    text = f"[{error.diag.sqlstate}] {primary}"
    if error.diag.sqlstate == "42501" and "row-level security" in primary:
        text += (
            "; backup and restore read and write every row with row-level security off, "
            "which needs a login with BYPASSRLS (Supabase's postgres has it)"
        )
    return text
