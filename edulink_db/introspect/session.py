"""One read-only catalog session: a connection, one transaction, and a count of queries.

Everything the audit reads runs inside a single `BEGIN ISOLATION LEVEL REPEATABLE READ READ
ONLY`: the server refuses any write, and all reads see one snapshot, so a grant made while
the audit runs cannot show up in one query and not in another. Each read runs in its own
savepoint, so a read the server refuses (say, a catalog whose SELECT was revoked) leaves the
transaction usable for the next one. Nothing relies on session state that Supabase's
transaction pooler would lose: no prepared statements, only transaction-local settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel, sql
from psycopg.conninfo import conninfo_to_dict

from edulink_db.introspect.state import SessionInfo

Params = Mapping[str, Any]
Query = sql.SQL | sql.Composed
T = TypeVar("T")

APPLICATION_NAME = "edulink-db audit"
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT = "60s"

# What makes one catalog read impossible without making the whole audit impossible.
CATALOG_ERRORS: tuple[type[psycopg.Error], ...] = (
    psycopg.errors.InsufficientPrivilege,
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedColumn,
    psycopg.errors.UndefinedFunction,
    psycopg.errors.UndefinedObject,
    psycopg.errors.FeatureNotSupported,
    psycopg.errors.QueryCanceled,
)


class Datasets:
    """Reads datasets one by one; a catalog error costs that dataset only: it is None and
    `unavailable` says why ("<failed>: <the server's message>"), and the next read goes on."""

    def __init__(self, failed: str) -> None:
        self._failed = failed  # formatted with {dataset}
        self.unavailable: dict[str, str] = {}

    def attempt(self, dataset: str, fetch: Callable[[], T]) -> T | None:
        try:
            return fetch()
        except CATALOG_ERRORS as error:
            message = error.diag.message_primary or str(error)
            self.unavailable[dataset] = f"{self._failed.format(dataset=dataset)}: {message}"
            return None


class CatalogSession:
    """Runs catalog queries and counts them; `queries` is what a caller reports."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self.queries = 0

    def rows(self, query: Query, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Run one query in its own savepoint and return every row."""
        self.queries += 1
        with self._conn.transaction():
            return self._conn.execute(query, params).fetchall()

    def info(self) -> SessionInfo:
        """Who and where we are, and pin the settings every later read depends on: a
        search_path of pg_catalog only (so pg_get_expr qualifies every other schema), and a
        statement timeout."""
        self.queries += 1
        row = self._conn.execute(_SESSION, {"timeout": STATEMENT_TIMEOUT}).fetchone()
        assert row is not None
        return SessionInfo(
            server_version_num=int(row[0]),
            server_version=str(row[1]),
            current_user=str(row[2]),
            session_user=str(row[3]),
            database=str(row[4]),
            transaction_read_only=bool(row[5]),
            transaction_isolation=str(row[6]),
            superuser=bool(row[7]),
        )


_SESSION = sql.SQL(
    "SELECT pg_catalog.current_setting('server_version_num')::int,"
    " pg_catalog.current_setting('server_version'),"
    " current_user::text, session_user::text, pg_catalog.current_database()::text,"
    " pg_catalog.current_setting('transaction_read_only') = 'on',"
    " pg_catalog.current_setting('transaction_isolation'),"
    " coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user),"
    " false),"
    " pg_catalog.set_config('search_path', 'pg_catalog', true),"
    " pg_catalog.set_config('statement_timeout', %(timeout)s, true)"
)


def connection_parameters(conninfo: str) -> dict[str, Any]:
    """The caller's parameters plus our defaults; raises psycopg.ProgrammingError when the
    string does not parse (its message may quote the string: do not show it)."""
    params = conninfo_to_dict(conninfo)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    params.setdefault("application_name", APPLICATION_NAME)
    return params


@contextmanager
def open_session(conninfo: str) -> Iterator[CatalogSession]:
    """Connect and hold one READ ONLY, REPEATABLE READ transaction, always rolled back."""
    params = connection_parameters(conninfo)
    with psycopg.connect(prepare_threshold=None, **params) as conn:
        conn.read_only = True
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction(force_rollback=True):
            yield CatalogSession(conn)
