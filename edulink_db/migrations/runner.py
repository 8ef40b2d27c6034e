"""Apply a service's migrations: in order, as its group role, one transaction per file.

Written on psycopg rather than on yoyo-migrations: yoyo keeps its history in tables of its
own naming outside the service schema, locks with a lock table instead of an advisory lock,
identifies a migration by id rather than by a checksum of its content (so an edited file goes
unnoticed), and cannot SET ROLE per file. Each of those is a requirement here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.bookkeeping import HISTORY_TABLE, create_history_table
from edulink_db.connection import ConnectionSettings, connect
from edulink_db.errors import UserError
from edulink_db.migrations.files import Step


@dataclass(frozen=True)
class Applied:
    version: int
    name: str
    checksum: str


class MigrationError(UserError):
    """A migration could not be applied; the failing file's transaction was rolled back."""


def lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key per schema (hashtext() is not stable across
    major versions, a digest is)."""
    digest = hashlib.sha256(f"edulink-db:migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def apply_migrations(
    settings: ConnectionSettings, service: str, schema: str, role: str, steps: Sequence[Step]
) -> list[Applied]:
    """Apply what is pending and return the full history.

    Every file runs in its own transaction that first takes a transaction-scoped advisory
    lock and re-reads the history: two concurrent applies serialise, and the second finds the
    file applied. An applied file whose checksum changed stops the run before anything runs.
    """
    current = "the history"
    try:
        with connect(settings) as conn:
            for step in sorted(steps, key=lambda s: s.version):
                current = f"migrations/{service}/{step.file_name}"
                with conn.transaction():
                    history = _locked_history(conn, schema, role)
                    ensure_unchanged(service, history, steps)
                    ensure_intact(service, schema, history, steps, _other_tables(conn, schema))
                    if step.version in history:
                        continue
                    _run_step(conn, service, schema, step)
            current = "the history"
            with conn.transaction():
                return sorted(_locked_history(conn, schema, role).values(), key=lambda a: a.version)
    except psycopg.OperationalError as error:
        # A lost connection rolls the open transaction back on the server: the file either
        # committed whole or not at all, and running again resumes where this run stopped.
        raise MigrationError(
            f"connection lost while applying {current} ({error.sqlstate or 'no SQLSTATE'}: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}); "
            "nothing of that file was applied; run again to resume"
        ) from error


def read_history(settings: ConnectionSettings, schema: str) -> list[Applied] | None:
    """The history as recorded in the database, or None when there is no history table."""
    with connect(settings) as conn, conn.transaction():
        if not _history_exists(conn, schema):
            return None
        rows = conn.execute(
            sql.SQL("SELECT version, name, checksum FROM {} ORDER BY version").format(
                sql.Identifier(schema, HISTORY_TABLE)
            )
        ).fetchall()
        return [Applied(*row) for row in rows]


def ensure_unchanged(service: str, history: dict[int, Applied], steps: Sequence[Step]) -> None:
    for step in steps:
        applied = history.get(step.version)
        if applied and applied.checksum != step.checksum:
            raise MigrationError(
                f"migrations/{service}/{step.file_name} was changed after it was applied "
                f"(checksum {applied.checksum[:12]} in the database, "
                f"{step.checksum[:12]} on disk); "
                "restore it and add a new migration instead"
            )


def ensure_intact(
    service: str,
    schema: str,
    history: dict[int, Applied],
    steps: Sequence[Step],
    other_tables: Sequence[str],
) -> None:
    """Refuse to run on a history that was lost or edited by hand, naming the files.

    Running a file again whose objects exist would fail half-way or, worse, succeed twice;
    guessing which rows to re-record is not the platform's call. A pending file must come
    after every recorded one, every recorded file must still exist, and an empty history
    needs a schema without tables.
    """
    known = {step.version: step for step in steps}
    pending = [step for step in steps if step.version not in history]
    problems = [
        f"{schema}.{HISTORY_TABLE} records {a.version:04d}_{a.name}.sql, which is not in "
        f"migrations/{service}/"
        for a in history.values()
        if a.version not in known
    ]
    if history and pending and min(s.version for s in pending) < max(history):
        problems += [
            f"migrations/{service}/{s.file_name} is not recorded although later files are"
            for s in pending
            if s.version < max(history)
        ]
    if not history and other_tables:
        problems.append(
            f"{schema}.{HISTORY_TABLE} records nothing although {schema} holds "
            f"{', '.join(other_tables)}"
        )
    if problems:
        raise MigrationError(
            f"the migration history of {schema} was lost or edited by hand: "
            + "; ".join(problems)
            + ". Restore the history rows (version, name, checksum) from a backup or the "
            "files' checksums, then run again; nothing was applied"
        )


def _other_tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> %s ORDER BY 1",
        (schema, HISTORY_TABLE),
    ).fetchall()
    return [row[0] for row in rows]


def _locked_history(conn: psycopg.Connection[Any], schema: str, role: str) -> dict[int, Applied]:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
    create_history_table(conn, schema, if_not_exists=True)
    rows = conn.execute(
        sql.SQL("SELECT version, name, checksum FROM {}").format(
            sql.Identifier(schema, HISTORY_TABLE)
        )
    ).fetchall()
    return {row[0]: Applied(*row) for row in rows}


def _run_step(conn: psycopg.Connection[Any], service: str, schema: str, step: Step) -> None:
    try:
        # Without parameters psycopg sends the file as one simple query, so a file may hold
        # many statements; they all commit or roll back with the surrounding transaction.
        conn.execute(step.sql.encode("utf-8"))
    except psycopg.Error as error:
        diag = error.diag
        where = f" at position {diag.statement_position}" if diag.statement_position else ""
        raise MigrationError(
            f"migrations/{service}/{step.file_name} failed{where}: "
            f"[{diag.sqlstate}] {diag.message_primary}; nothing of this file was applied"
        ) from error
    conn.execute(
        sql.SQL("INSERT INTO {} (version, name, checksum) VALUES (%s, %s, %s)").format(
            sql.Identifier(schema, HISTORY_TABLE)
        ),
        (step.version, step.name, step.checksum),
    )


def _history_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_tables WHERE schemaname = %s AND tablename = %s)",
        (schema, HISTORY_TABLE),
    ).fetchone()
    return bool(row and row[0])


def _current_name(conn: psycopg.Connection[Any], schema: str, role: str) -> str:
    """Where the history now is. A schema renamed in place (pulumi-postgresql's Schema renames,
    and runs before the replace of the migrations that depend on it) took its tables and its
    history along: the role's one schema holding a history table is the one to empty."""
    if conn.execute("SELECT FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
        return schema
    rows = conn.execute(
        "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid"
        " WHERE n.nspowner = %s::regrole AND c.relname = %s AND c.relkind = 'r'",
        (role, HISTORY_TABLE),
    ).fetchall()
    return str(rows[0][0]) if len(rows) == 1 else schema


def drop_service_tables(settings: ConnectionSettings, schema: str, role: str) -> list[str]:
    """Disposable stacks only: drop every table of the schema, history included.

    The caller decides whether the stack is disposable; this never runs for one that is not.
    """
    with connect(settings) as conn, conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        schema = _current_name(conn, schema, role)
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
                (schema,),
            ).fetchall()
        ]
        for table in tables:
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(schema, table))
            )
        return tables
