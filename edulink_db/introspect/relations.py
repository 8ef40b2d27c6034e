"""Tables, views and sequences of the services' schemas, with their privileges down to the
column and their row-level security flags (one query for all of them)."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from edulink_db.introspect.acl import acl_rows, column_acl_rows, parse_acl, parse_column_acls
from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LiveRelation

# Sequences have their own default ACL kind ('s'); every other relation kind uses 'r'.
_RELATIONS = sql.SQL(
    "SELECT n.nspname::text, c.relname::text, c.relkind::text, pg_get_userbyid(c.relowner)::text,"
    " c.relrowsecurity, c.relforcerowsecurity, {acl},"
    " {column_acl},"
    " has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
).format(
    acl=acl_rows(
        "coalesce(c.relacl, acldefault("
        "(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::\"char\", c.relowner))"
    ),
    column_acl=column_acl_rows("c.oid"),
)


def fetch_relations(
    session: CatalogSession, schemas: Sequence[str]
) -> dict[tuple[str, str], LiveRelation]:
    relations = {}
    for row in session.rows(_RELATIONS, {"schemas": list(schemas)}):
        relation = LiveRelation(
            schema=row[0],
            name=row[1],
            kind=row[2],
            owner=row[3],
            row_security=row[4],
            force_row_security=row[5],
            acl=parse_acl(row[6]),
            column_acl=parse_column_acls(row[7]),
            readable=row[8],
        )
        relations[(relation.schema, relation.name)] = relation
    return relations
