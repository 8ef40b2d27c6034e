"""Access control lists, read as rows: `aclexplode` in SQL, AclEntry in Python.

An ACL column is NULL until someone grants or revokes; NULL means the built-in default, so
reads pass `coalesce(acl, acldefault(kind, owner))` and the audit always compares the
privileges that are in force, never the storage detail.
"""

from __future__ import annotations

from typing import Any, LiteralString

from psycopg import sql

from edulink_db.introspect.state import Acl, AclEntry

# One text per ACL entry, fields split by the unit separator (no role name contains it).
# A text[] decodes in psycopg's C loader; the JSON this replaced cost more than the queries
# themselves at 500 schemas (benchmarks/audit_scale).
SEPARATOR = "\x1f"
_ENTRY: LiteralString = (
    "concat_ws(E'\\x1f', CASE WHEN x.grantee = 0 THEN 'PUBLIC'"
    " ELSE pg_get_userbyid(x.grantee)::text END, x.privilege_type, x.is_grantable::int)"
)


def acl_rows(acl: LiteralString) -> sql.Composed:
    """A scalar sub-select giving the ACL expression `acl` as text[] of
    `grantee<US>privilege<US>grantable`."""
    return sql.SQL("ARRAY(SELECT {entry} FROM aclexplode({acl}) AS x)").format(
        entry=sql.SQL(_ENTRY), acl=sql.SQL(acl)
    )


def column_acl_rows(relation: LiteralString) -> sql.Composed:
    """Every column ACL of `relation` (an oid expression) as one flat text[] of
    `column<US>grantee<US>privilege<US>grantable`; NULL when no column has one."""
    return sql.SQL(
        "(SELECT array_agg(a.attname::text || E'\\x1f' || {entry})"
        " FROM pg_attribute a, aclexplode(a.attacl) AS x"
        " WHERE a.attrelid = {relation} AND a.attnum > 0 AND NOT a.attisdropped"
        " AND a.attacl IS NOT NULL)"
    ).format(entry=sql.SQL(_ENTRY), relation=sql.SQL(relation))


def parse_acl(value: Any) -> Acl:
    entries = (text.split(SEPARATOR) for text in value or ())
    return tuple(sorted(AclEntry(g, p, o == "1") for g, p, o in entries))


def parse_column_acls(value: Any) -> dict[str, Acl]:
    by_column: dict[str, list[str]] = {}
    for text in value or ():
        column, entry = text.split(SEPARATOR, 1)
        by_column.setdefault(column, []).append(entry)
    return {column: parse_acl(entries) for column, entries in sorted(by_column.items())}
