"""Row-level security policies on the services' tables (one query for all of them).

Expressions come from pg_get_expr in a session whose search_path is pg_catalog only, so every
name outside pg_catalog is schema-qualified whatever the auditor's own search_path is.
`rls.apply` reads the policies it installed through the same query, on its own connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LivePolicy

COMMANDS = {"*": "all", "r": "select", "a": "insert", "w": "update", "d": "delete"}

_POLICIES = sql.SQL(
    "SELECT n.nspname::text, c.relname::text, p.polname::text, p.polcmd::text, p.polpermissive,"
    " ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_get_userbyid(r.oid)::text END"
    "   FROM unnest(p.polroles) AS r(oid) ORDER BY 1),"
    " pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)"
    " FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = ANY(%(schemas)s)"
)


def fetch_policies(session: CatalogSession, schemas: Sequence[str]) -> tuple[LivePolicy, ...]:
    policies = [
        LivePolicy(
            schema=row[0],
            table=row[1],
            name=row[2],
            command=COMMANDS.get(row[3], row[3]),
            permissive=row[4],
            roles=tuple(row[5]),
            using=row[6],
            with_check=row[7],
        )
        for row in session.rows(_POLICIES, {"schemas": list(schemas)})
    ]
    return tuple(sorted(policies, key=lambda p: (p.schema, p.table, p.name)))
