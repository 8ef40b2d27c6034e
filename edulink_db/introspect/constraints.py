"""Foreign keys of the services' tables, and whether an index supports each (one query).

A foreign key is supported when a valid, non-partial index of its table leads with exactly
its columns (in any order): then deleting or updating a referenced row does not scan the
referencing table.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LiveForeignKey

_FOREIGN_KEYS = sql.SQL(
    "SELECT n.nspname::text, c.relname::text, k.conname::text,"
    " ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)"
    "   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord),"
    " rn.nspname::text, rc.relname::text,"
    " EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = k.conrelid AND i.indisvalid"
    "   AND i.indpred IS NULL"
    "   AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] @> k.conkey"
    "   AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] <@ k.conkey)"
    " FROM pg_constraint k"
    " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace"
    " WHERE k.contype = 'f' AND k.conparentid = 0 AND n.nspname = ANY(%(schemas)s)"
)


def fetch_foreign_keys(
    session: CatalogSession, schemas: Sequence[str]
) -> tuple[LiveForeignKey, ...]:
    keys = [
        LiveForeignKey(row[0], row[1], row[2], tuple(row[3]), row[4], row[5], row[6])
        for row in session.rows(_FOREIGN_KEYS, {"schemas": list(schemas)})
    ]
    return tuple(sorted(keys, key=lambda k: (k.schema, k.table, k.name)))
