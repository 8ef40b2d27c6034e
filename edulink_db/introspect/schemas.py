"""Schemas of the services: owner and effective privileges (one query for all of them)."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from edulink_db.introspect.acl import acl_rows, parse_acl
from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LiveSchema

_SCHEMAS = sql.SQL(
    "SELECT n.nspname::text, pg_get_userbyid(n.nspowner)::text, {acl}"
    " FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s)"
).format(acl=acl_rows("coalesce(n.nspacl, acldefault('n', n.nspowner))"))


def fetch_schemas(session: CatalogSession, schemas: Sequence[str]) -> dict[str, LiveSchema]:
    rows = session.rows(_SCHEMAS, {"schemas": list(schemas)})
    return {row[0]: LiveSchema(row[0], row[1], parse_acl(row[2])) for row in rows}
