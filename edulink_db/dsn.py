"""Where a connection string points, said without its credentials: the only way a DSN may
appear in output, since a DSN can hold a password."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict


def describe_dsn(dsn: str) -> str:
    """`user@host:port/dbname`, never the password."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an invalid connection string)"
    user = params.get("user", "")
    host = params.get("host", "localhost")
    port = params.get("port", "5432")
    dbname = params.get("dbname", "")
    return f"{user}@{host}:{port}/{dbname}" if user else f"{host}:{port}/{dbname}"
