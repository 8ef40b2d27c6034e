"""Restore into a database that does not have the service's schema: the drill.

The schema is built from the migration files in the archive (foreign keys into other
services' schemas left out and named, since those schemas are not there), the history is
recorded as the backup found it, the rows are copied in parents first, and every table is
verified against the manifest, all in one transaction: a drill that fails leaves nothing.
The schema belongs to the login that restores it; no roles, grants or policies are made.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.backup.archive import ArchiveReader, BackupError
from edulink_db.backup.bulk import bulk_tables, indexes_deferred
from edulink_db.backup.catalog import fetch_catalog
from edulink_db.backup.definitions import LeftOut, local_definitions
from edulink_db.backup.load import copy_in, set_sequence, verify
from edulink_db.backup.manifest import Manifest, MigrationEntry
from edulink_db.backup.session import prepare_transaction
from edulink_db.bookkeeping import HISTORY_TABLE, create_history_table


def restore_scratch(conn: psycopg.Connection[Any], reader: ArchiveReader) -> list[LeftOut]:
    manifest = reader.manifest
    schema = manifest.schema_name
    with conn.transaction():
        prepare_transaction(conn)
        if fetch_catalog(conn, schema).exists:
            raise BackupError(
                f"the database already has schema {schema}: restore into a database without "
                "it (a drill), or with --in-place onto the platform's own"
            )
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        left_out = _definitions(conn, reader, manifest)
        _tables_outside_migrations(conn, manifest)
        names = [t.name for t in manifest.tables]
        # Rows a migration may have seeded are in the backup too.
        conn.execute(
            sql.SQL("TRUNCATE {}").format(
                sql.SQL(", ").join(sql.Identifier(schema, n) for n in names)
            )
        )
        with indexes_deferred(conn, schema, bulk_tables(manifest.tables, names)):
            for entry in manifest.tables:
                copy_in(conn, reader, entry, sql.Identifier(schema, entry.name))
        for sequence in manifest.sequences:
            set_sequence(conn, schema, sequence.name, sequence.last_value)
        for entry in manifest.tables:
            verify(conn, entry, sql.Identifier(schema, entry.name), f"{schema}.{entry.name}")
    return left_out


def _definitions(
    conn: psycopg.Connection[Any], reader: ArchiveReader, manifest: Manifest
) -> list[LeftOut]:
    schema = manifest.schema_name
    left_out: list[LeftOut] = []
    create_history_table(conn, schema)
    for migration in manifest.migrations:
        text = _migration_sql(reader, migration)
        local, removed = local_definitions(text, schema)
        left_out += removed
        conn.execute(local.encode("utf-8"))
        conn.execute(
            sql.SQL("INSERT INTO {} (version, name, checksum) VALUES (%s, %s, %s)").format(
                sql.Identifier(schema, HISTORY_TABLE)
            ),
            (migration.version, migration.name, migration.checksum),
        )
    return left_out


def _migration_sql(reader: ArchiveReader, migration: MigrationEntry) -> str:
    text = reader.text(migration.file, migration.sha256)
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != migration.checksum:
        raise BackupError(
            f"{migration.file} is not the migration the history recorded "
            f"({migration.version:04d}_{migration.name}); the backup is damaged"
        )
    return text


def _tables_outside_migrations(conn: psycopg.Connection[Any], manifest: Manifest) -> None:
    """Tables the migrations do not create (the data move's run record) are made from the
    manifest: its columns, types and primary key."""
    schema = manifest.schema_name
    existing = fetch_catalog(conn, schema).tables
    for entry in manifest.tables:
        if entry.name in existing:
            continue
        from edulink_db.datamove.expression import render_type_name  # only for such a table

        parts = [
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(render_type_name(c.type)))
            for c in entry.columns
        ]
        if entry.primary_key:
            parts.append(
                sql.SQL("PRIMARY KEY ({})").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in entry.primary_key)
                )
            )
        conn.execute(
            sql.SQL("CREATE TABLE {} ({})").format(
                sql.Identifier(schema, entry.name), sql.SQL(", ").join(parts)
            )
        )
