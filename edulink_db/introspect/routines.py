"""Functions and types in the services' schemas (one query each)."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from edulink_db.introspect.acl import acl_rows, parse_acl
from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LiveFunction, LiveType

_FUNCTIONS = sql.SQL(
    "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid),"
    " p.prokind::text, pg_get_userbyid(p.proowner)::text, p.prosecdef,"
    " coalesce(p.proconfig, ARRAY[]::text[]), {acl},"
    " EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass"
    "   AND e.objid = p.oid AND e.deptype = 'e')"
    " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE n.nspname = ANY(%(schemas)s)"
).format(acl=acl_rows("coalesce(p.proacl, acldefault('f', p.proowner))"))

# Types someone created: not the row type every table gets, nor the array type every type gets.
_TYPES = sql.SQL(
    "SELECT n.nspname::text, t.typname::text, t.typtype::text, pg_get_userbyid(t.typowner)::text,"
    " {acl}"
    " FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
    " LEFT JOIN pg_class c ON c.oid = t.typrelid"
    " WHERE n.nspname = ANY(%(schemas)s) AND (t.typrelid = 0 OR c.relkind = 'c')"
    " AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)"
).format(acl=acl_rows("coalesce(t.typacl, acldefault('T', t.typowner))"))


def fetch_functions(session: CatalogSession, schemas: Sequence[str]) -> tuple[LiveFunction, ...]:
    functions = [
        LiveFunction(
            schema=row[0],
            name=row[1],
            arguments=row[2],
            kind=row[3],
            owner=row[4],
            security_definer=row[5],
            config=tuple(row[6]),
            acl=parse_acl(row[7]),
            from_extension=row[8],
        )
        for row in session.rows(_FUNCTIONS, {"schemas": list(schemas)})
    ]
    return tuple(sorted(functions, key=lambda f: (f.schema, f.name, f.arguments)))


def fetch_types(session: CatalogSession, schemas: Sequence[str]) -> tuple[LiveType, ...]:
    types = [
        LiveType(row[0], row[1], row[2], row[3], parse_acl(row[4]))
        for row in session.rows(_TYPES, {"schemas": list(schemas)})
    ]
    return tuple(sorted(types, key=lambda t: (t.schema, t.name)))
