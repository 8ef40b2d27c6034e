"""The migration history of every service, read in one query.

The history tables are data, not catalog: reading them needs USAGE on the schema and SELECT
on the table. Only the tables this session may read are queried (one UNION ALL, however many
schemas); the others are reported as unreadable, with the reason, never as empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from psycopg import sql

from edulink_db.bookkeeping import HISTORY_TABLE
from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LiveHistory, LiveRelation, MigrationRecord


def fetch_history(
    session: CatalogSession,
    user: str,
    schemas: Sequence[str],
    relations: Mapping[tuple[str, str], LiveRelation],
) -> LiveHistory:
    readable: list[str] = []
    unreadable: dict[str, str] = {}
    for schema in schemas:
        table = relations.get((schema, HISTORY_TABLE))
        if table is None:
            continue
        if table.readable:
            readable.append(schema)
        else:
            unreadable[schema] = (
                f"{user} may not read {schema}.{HISTORY_TABLE} "
                f"(it needs USAGE on schema {schema} and SELECT on the table)"
            )
    records: dict[str, list[MigrationRecord]] = {schema: [] for schema in readable}
    if readable:
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL(
                "SELECT {schema}::text, version::int, name::text, checksum::text FROM {table}"
            ).format(schema=sql.Literal(schema), table=sql.Identifier(schema, HISTORY_TABLE))
            for schema in readable
        )
        for schema, version, name, checksum in session.rows(query):
            records[schema].append(MigrationRecord(version, name, checksum))
    return LiveHistory(
        records={s: tuple(sorted(r, key=lambda m: m.version)) for s, r in records.items()},
        unreadable=unreadable,
    )
