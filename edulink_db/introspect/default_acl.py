"""Default privileges: what new objects get, per owner (one query).

For each role asked about, the global default of every object kind is returned even when no
pg_default_acl row exists, with PostgreSQL's built-in default filled in (acldefault): a
missing row is not "nothing granted" — for functions and types it means EXECUTE/USAGE for
PUBLIC. Schema-scoped rows are returned for those roles and for anyone's rows in the
services' schemas.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from edulink_db.introspect.acl import acl_rows, parse_acl
from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LiveDefaultAcl

OBJECT_TYPES = {"r": "table", "S": "sequence", "f": "function", "T": "type", "n": "schema"}

# pg_default_acl says S for sequences; acldefault() says s (its S is a foreign server).
_DEFAULT_ACLS = sql.SQL(
    "SELECT r.rolname::text, NULL::text, t.objtype, d.oid IS NOT NULL, {global_acl}"
    " FROM pg_roles r"
    " CROSS JOIN (VALUES ('r'), ('S'), ('f'), ('T'), ('n')) AS t(objtype)"
    " LEFT JOIN pg_default_acl d ON d.defaclrole = r.oid AND d.defaclnamespace = 0"
    '   AND d.defaclobjtype = t.objtype::"char"'
    " WHERE r.rolname = ANY(%(roles)s)"
    " UNION ALL"
    " SELECT pg_get_userbyid(d.defaclrole)::text, n.nspname::text, d.defaclobjtype::text, true,"
    " {schema_acl}"
    " FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace"
    " WHERE d.defaclrole IN (SELECT oid FROM pg_roles WHERE rolname = ANY(%(roles)s))"
    "   OR n.nspname = ANY(%(schemas)s)"
).format(
    global_acl=acl_rows(
        "coalesce(d.defaclacl, acldefault("
        "(CASE t.objtype WHEN 'S' THEN 's' ELSE t.objtype END)::\"char\", r.oid))"
    ),
    schema_acl=acl_rows("d.defaclacl"),
)


def fetch_default_acls(
    session: CatalogSession, roles: Sequence[str], schemas: Sequence[str]
) -> tuple[LiveDefaultAcl, ...]:
    rows = session.rows(_DEFAULT_ACLS, {"roles": list(roles), "schemas": list(schemas)})
    acls = [
        LiveDefaultAcl(
            owner=row[0],
            schema=row[1],
            object_type=OBJECT_TYPES.get(row[2], row[2]),
            explicit=row[3],
            acl=parse_acl(row[4]),
        )
        for row in rows
    ]
    return tuple(sorted(acls, key=lambda d: (d.owner, d.schema or "", d.object_type)))
