"""`backup_service`: one service's schema to a file, in one consistent snapshot.

One `REPEATABLE READ READ ONLY` transaction reads the schema's catalog, its migration
history, and every table with COPY; the server computes each table's count and checksum in
the same snapshot, so the manifest describes exactly the rows in the file. The definitions
are the service's migration files whose checksums the history records: a history that
names a file the project no longer has, or has changed, is refused (the backup could not say
how to rebuild the schema).
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.backup.archive import CHUNK, ArchiveWriter, BackupError
from edulink_db.backup.catalog import SchemaCatalog, Table, fetch_catalog
from edulink_db.backup.manifest import (
    FORMAT,
    FORMAT_VERSION,
    ColumnEntry,
    Manifest,
    MigrationEntry,
    ReferenceEntry,
    SequenceEntry,
    TableEntry,
)
from edulink_db.backup.session import connect, prepare_transaction, reason
from edulink_db.catalogue.load import load_catalogue
from edulink_db.catalogue.model import ResolvedService
from edulink_db.datamove.verify import Checksum, fetch_checksum, table_checksum_sql
from edulink_db.errors import UserError
from edulink_db.migrations.files import MigrationFile, discover_migrations

APPLICATION_NAME = "edulink-db backup"
CATALOGUE = "catalogue.yaml"


@dataclass(frozen=True)
class BackupRequest:
    root: Path
    service: str
    dsn: str
    out: Path
    compress: bool = False

    def __repr__(self) -> str:  # the DSN may hold a password
        return f"BackupRequest(service={self.service!r}, out={str(self.out)!r})"


@dataclass(frozen=True)
class BackupReport:
    manifest: Manifest
    path: Path
    bytes: int
    seconds: float


def load_service(root: Path, name: str) -> ResolvedService:
    services = load_catalogue(root).services
    if name not in services:
        raise UserError(f"unknown service {name!r}; known: {', '.join(sorted(services))}")
    return services[name]


def backup_service(request: BackupRequest) -> BackupReport:
    """Raise BackupError (nothing written) when the schema cannot be read whole."""
    started = time.monotonic()
    service = load_service(request.root, request.service)
    files = _migration_files(request.root, request.service)
    writer = ArchiveWriter(request.out, request.compress)
    try:
        with (
            connect(request.dsn, APPLICATION_NAME) as conn,
            connect(request.dsn, APPLICATION_NAME) as second,
            ThreadPoolExecutor(1, thread_name_prefix="backup-checksum") as pool,
        ):
            for session in (conn, second):
                session.read_only = True
                session.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction(force_rollback=True):
                prepare_transaction(conn)
                checksums = Checksums(conn, second, pool)
                manifest = _write(conn, writer, request, service, files, checksums)
            second.rollback()
        writer.finish(manifest)
    except psycopg.Error as error:
        writer.abort()
        raise BackupError(
            f"the backup of {request.service} failed: {reason(error)}; no file was written"
        ) from error
    except BaseException:
        writer.abort()
        raise
    return BackupReport(
        manifest, request.out, request.out.stat().st_size, time.monotonic() - started
    )


class Checksums:
    """Each table's count and checksum, computed by a second session on the backup's
    snapshot while the first streams the table's rows: the two server processes work at the
    same time, as pg_dump's parallel jobs do. Where the snapshot cannot be shared (a
    transaction pooler), the first session computes them after each COPY."""

    def __init__(
        self, conn: psycopg.Connection[Any], second: psycopg.Connection[Any], pool: Executor
    ) -> None:
        self._conn = conn
        self._pool = pool
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        try:
            second.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(row[0])))
            prepare_transaction(second)
            self._second: psycopg.Connection[Any] | None = second
        except psycopg.Error:
            second.rollback()
            self._second = None

    def start(self, query: sql.Composed) -> Callable[[], Checksum]:
        if self._second is None:
            return lambda: fetch_checksum(self._conn, query)
        future = self._pool.submit(fetch_checksum, self._second, query)
        return future.result


def _write(
    conn: psycopg.Connection[Any],
    writer: ArchiveWriter,
    request: BackupRequest,
    service: ResolvedService,
    files: Sequence[MigrationFile],
    checksums: Checksums,
) -> Manifest:
    catalog = fetch_catalog(conn, service.schema_name)
    if not catalog.exists:
        raise BackupError(f"the database has no schema {service.schema_name}; nothing to back up")
    migrations = _definitions(writer, catalog, service, files)
    tables = [_table(conn, writer, catalog, table, checksums) for table in catalog.data_tables()]
    info = conn.execute(
        "SELECT current_setting('server_version'), current_database()::text"
    ).fetchone()
    assert info is not None
    return Manifest(
        format=FORMAT,
        version=FORMAT_VERSION,
        service=service.name,
        schema_name=service.schema_name,
        group_role=service.group_role,
        created_at=datetime.now(UTC),
        server_version=str(info[0]),
        database=str(info[1]),
        catalogue_sha256=_sha256(request.root / CATALOGUE),
        git_commit=_git_commit(request.root),
        migrations=migrations,
        tables=tuple(tables),
        sequences=tuple(SequenceEntry(name=n, last_value=v) for n, v in catalog.sequences.items()),
        references_in=tuple(
            ReferenceEntry(
                table=k.referencing,
                constraint=k.name,
                columns=k.columns,
                references=k.ref_table,
                referenced_columns=k.ref_columns,
            )
            for k in catalog.incoming
        ),
    )


def _migration_files(root: Path, service: str) -> list[MigrationFile]:
    files, issues = discover_migrations(root / "migrations", service)
    if issues:
        raise BackupError("; ".join(str(i) for i in issues))
    return files


def _definitions(
    writer: ArchiveWriter,
    catalog: SchemaCatalog,
    service: ResolvedService,
    files: Sequence[MigrationFile],
) -> tuple[MigrationEntry, ...]:
    """The migration files the history records, each checked against its checksum."""
    if catalog.history is None:
        raise BackupError(
            f"{catalog.schema} has no migration history ({catalog.schema}.edulink_migrations): "
            "the backup could not say which definitions built it"
        )
    by_version = {f.version: f for f in files}
    entries: list[MigrationEntry] = []
    for record in catalog.history:
        found = by_version.get(record.version)
        if found is None or found.checksum != record.checksum:
            state = "is missing" if found is None else "differs from what was applied"
            raise BackupError(
                f"migrations/{service.name}/{record.version:04d}_{record.name}.sql {state}: "
                "restore the file as it was applied, then back up again"
            )
        name = f"definitions/{found.file_name}"
        digest, _ = writer.write_text(name, found.sql)
        entries.append(
            MigrationEntry(
                version=record.version,
                name=record.name,
                checksum=record.checksum,
                file=name,
                sha256=digest,
            )
        )
    return tuple(entries)


def _table(
    conn: psycopg.Connection[Any],
    writer: ArchiveWriter,
    catalog: SchemaCatalog,
    table: Table,
    checksums: Checksums,
) -> TableEntry:
    name = sql.Identifier(catalog.schema, table.name)
    checksum_of = checksums.start(table_checksum_sql(name, table.column_names, table.binary_rows))
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names)
    file = f"data/{table.name}.copy"
    binary = table.binary_rows
    statement = sql.SQL("COPY {} ({}) TO STDOUT{}").format(
        name, columns, sql.SQL(" (FORMAT binary)" if binary else "")
    )
    with writer.member(file) as member, conn.cursor() as cursor:
        with cursor.copy(statement) as copy:
            buffer = bytearray()
            for data in copy:
                buffer += data
                if len(buffer) >= CHUNK:
                    member.write(buffer)
                    buffer = bytearray()
            member.write(buffer)
        sent = cursor.rowcount  # COPY's command tag
    checksum = checksum_of()
    if checksum.rows != sent:
        raise BackupError(
            f"{catalog.schema}.{table.name}: COPY sent {sent} rows, the snapshot holds "
            f"{checksum.rows}; no file was written"
        )
    return TableEntry(
        name=table.name,
        columns=tuple(ColumnEntry(name=c.name, type=c.type) for c in table.columns),
        primary_key=table.primary_key,
        rows=checksum.rows,
        checksum=checksum.digest,
        binary_rows=table.binary_rows,
        format="binary" if binary else "text",
        file=file,
        bytes=member.bytes,
        sha256=member.sha256,
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _git_commit(root: Path) -> str | None:
    """The project's commit, when it is a git checkout; the backup says which catalogue it
    was taken with."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
