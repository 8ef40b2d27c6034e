"""`edulink-db validate --deep`: what only PostgreSQL can tell, asked of a throwaway server.

Static validation resolves every column and knows the type of most expressions, but not
what an unknown function returns, whether an operator exists for two types, or whether a
migration runs at all. Here the migrations run and every policy expression is created on
its table, inside one transaction that is always rolled back: nothing is left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from graphlib import TopologicalSorter

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from edulink_db.catalogue.expressions import WrittenExpression, written_expressions
from edulink_db.catalogue.load import LoadedCatalogue
from edulink_db.errors import Issue, UserError
from edulink_db.migrations.files import MigrationFile
from edulink_db.rowpolicy import render_expression
from edulink_db.yamlsource import YamlSource

CONNECT_TIMEOUT_S = 10
_CHECK_POLICY = "edulink_validate_deep"


class DeepCheckError(UserError):
    """The server could not be used: unreachable, or not a throwaway database."""


def check_on_server(conninfo: str, loaded: LoadedCatalogue, source: YamlSource) -> list[Issue]:
    """Run the migrations and create every policy expression on a server; roll back.

    Raise DeepCheckError when the server cannot be reached or already holds a service
    schema (an existing database is not what --deep is for)."""
    try:
        with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            try:
                return _check(conn, loaded, source)
            finally:
                conn.rollback()
    except psycopg.OperationalError as error:
        message = _first_line(error)
        password = _password(conninfo)
        if password:
            message = message.replace(password, "***")
        raise DeepCheckError(f"--deep cannot reach its server: {message}") from None
    except psycopg.ProgrammingError:
        # The parser's message may quote the string, password included: say nothing of it.
        raise DeepCheckError("--deep: the connection string is not valid") from None


def _check(
    conn: psycopg.Connection[tuple[object, ...]], loaded: LoadedCatalogue, source: YamlSource
) -> list[Issue]:
    schemas = {name: s.schema_name for name, s in loaded.services.items()}
    taken = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY 1",
        (list(schemas.values()),),
    ).fetchall()
    if taken:
        names = ", ".join(str(row[0]) for row in taken)
        raise DeepCheckError(
            f"the --deep database already has {names}: point it at a throwaway database "
            "without the service schemas; nothing was changed"
        )
    for service in _read_order(loaded):
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schemas[service])))
        for migration in loaded.migrations[service]:
            failed = _run_migration(conn, schemas[service], migration, f"migrations/{service}")
            if failed:
                # Everything after a failed migration would fail with it: report it once.
                return [failed]
    return [
        issue
        for written in written_expressions(loaded.services)
        if (issue := _create_policy(conn, schemas[written.service], written, source))
    ]


def _read_order(loaded: LoadedCatalogue) -> Iterator[str]:
    """Producers before their readers: a reader's foreign keys need the producer's tables."""
    graph = {
        name: {read.service for read in service.reads} for name, service in loaded.services.items()
    }
    yield from TopologicalSorter(graph).static_order()


def _run_migration(
    conn: psycopg.Connection[tuple[object, ...]], schema: str, migration: MigrationFile, where: str
) -> Issue | None:
    try:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            conn.execute(migration.sql.encode("utf-8"))
    except psycopg.DatabaseError as error:
        position = error.diag.statement_position
        line = migration.sql.count("\n", 0, int(position) - 1) + 1 if position else None
        return Issue(
            f"{where}/{migration.file_name}",
            "",
            f"PostgreSQL refuses it: {_first_line(error)}",
            line,
        )
    return None


def _create_policy(
    conn: psycopg.Connection[tuple[object, ...]],
    schema: str,
    written: WrittenExpression,
    source: YamlSource,
) -> Issue | None:
    clause = "WITH CHECK" if written.with_check else "USING"
    statement = sql.SQL("CREATE POLICY {} ON {}.{} FOR {} {} ({})").format(
        sql.Identifier(_CHECK_POLICY),
        sql.Identifier(schema),
        sql.Identifier(written.table),
        sql.SQL(written.command.upper()),
        sql.SQL(clause),
        # The parse tree's own rendering, as the RLS resource sends it: never the raw text.
        sql.SQL(render_expression(written.text)),
    )
    try:
        with conn.transaction() as savepoint:
            conn.execute(statement)
            # Each check is undone at once: the next expression on the table reuses the name.
            raise psycopg.Rollback(savepoint)
    except psycopg.DatabaseError as error:
        return source.issue(written.path, f"expression refused by PostgreSQL: {_first_line(error)}")
    return None


def _password(conninfo: str) -> str:
    try:
        return str(conninfo_to_dict(conninfo).get("password") or "")
    except psycopg.ProgrammingError:
        return ""


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
