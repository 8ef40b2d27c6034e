"""Access control lists, read as rows: `aclexplode` in SQL, AclEntry in Python.

An ACL column is NULL until someone grants or revokes; NULL means the built-in default, so
reads pass `coalesce(acl, acldefault(kind, owner))` and the audit always compares the
privileges that are in force, never the storage detail.
"""

from __future__ import annotations

from typing import Any, LiteralString

from psycopg import sql

from edulink_db.introspect.state import Acl, AclEntry

_EXPLODE: LiteralString = (
    "(SELECT coalesce(jsonb_agg(jsonb_build_array("
    "CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END,"
    " x.privilege_type, x.is_grantable)), jsonb_build_array())"
    " FROM aclexplode({acl}) AS x)"
)


def acl_rows(acl: LiteralString) -> sql.Composed:
    """A scalar sub-select giving the ACL expression `acl` as a JSON array of
    [grantee, privilege, grantable]."""
    return sql.SQL(_EXPLODE).format(acl=sql.SQL(acl))


def parse_acl(value: Any) -> Acl:
    return tuple(sorted(AclEntry(str(g), str(p), bool(o)) for g, p, o in value or ()))
