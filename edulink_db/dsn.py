"""Where a connection string points, said without its credentials: the only way a DSN may
appear in output, since a DSN can hold a password; and the server's errors, with it masked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def masked_errors(conninfo: str, fail: Callable[[str], Exception]) -> Iterator[None]:
    """Turn a psycopg error of the block into `fail(message)`, the connection string's
    password masked in the message. A string that does not parse fails before the block,
    saying nothing of it: the parser's message may quote the string, password included."""
    try:
        password = conninfo_to_dict(conninfo).get("password")
    except psycopg.ProgrammingError:
        raise fail(
            "the connection string is not valid (expected a postgresql:// URL or key=value pairs)"
        ) from None
    try:
        yield
    except psycopg.Error as error:
        message = str(error).strip() or type(error).__name__
        if password:
            message = message.replace(str(password), "***")
        raise fail(message) from None
