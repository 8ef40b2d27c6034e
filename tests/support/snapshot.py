"""What the database grants, read from the catalog in a form that compares across runs.

Grantors and OIDs differ between runs for the same result, so they are left out; what is
kept is who may do what on which object, who owns it, and what each role is.
"""

from __future__ import annotations

from typing import Any

import psycopg

_QUERIES = {
    "roles": """
        SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
               rolreplication, rolbypassrls, rolconnlimit,
               ARRAY(SELECT unnest(rolconfig) ORDER BY 1)
        FROM pg_roles WHERE rolname = ANY(%(roles)s) ORDER BY 1""",
    "memberships": """
        SELECT m.rolname, g.rolname, a.admin_option
        FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid
        WHERE g.rolname = ANY(%(roles)s) OR m.rolname = ANY(%(roles)s) ORDER BY 1, 2""",
    "schemas": """
        SELECT n.nspname, pg_get_userbyid(n.nspowner), coalesce(pg_get_userbyid(x.grantee), 'PUBLIC'),
               x.privilege_type, x.is_grantable
        FROM pg_namespace n LEFT JOIN LATERAL aclexplode(n.nspacl) x ON true
        WHERE n.nspname = ANY(%(schemas)s) ORDER BY 1, 2, 3, 4""",
    "tables": """
        SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner),
               CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
               x.privilege_type, x.is_grantable
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN LATERAL aclexplode(c.relacl) x ON true
        WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
        ORDER BY 1, 2, 4, 5""",
    "columns": """
        SELECT n.nspname, c.relname, a.attname,
               CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
               x.privilege_type
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL aclexplode(a.attacl) x
        WHERE n.nspname = ANY(%(schemas)s) ORDER BY 1, 2, 3, 4, 5""",
    "default_privileges": """
        SELECT pg_get_userbyid(d.defaclrole), coalesce(n.nspname, '(global)'), d.defaclobjtype,
               CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
               x.privilege_type
        FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        LEFT JOIN LATERAL aclexplode(d.defaclacl) x ON true
        WHERE pg_get_userbyid(d.defaclrole) = ANY(%(roles)s) ORDER BY 1, 2, 3, 4, 5""",
    "foreign_keys": """
        SELECT conrelid::regclass::text, confrelid::regclass::text, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE contype = 'f'
        AND connamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY(%(schemas)s))
        ORDER BY 1, 3""",
}


def snapshot(
    conn: psycopg.Connection[Any], roles: list[str], schemas: list[str]
) -> dict[str, list[tuple[Any, ...]]]:
    params = {"roles": roles, "schemas": schemas}
    # Sorted in Python on every column: rows equal in their ORDER BY keys may come in any order.
    return {
        name: sorted((tuple(row) for row in conn.execute(query, params).fetchall()), key=repr)
        for name, query in _QUERIES.items()
    }
