"""Roles and memberships: cluster-wide, so every role is read (one query each)."""

from __future__ import annotations

from psycopg import sql

from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LiveMembership, LiveRole

_ROLES = sql.SQL(
    "SELECT r.rolname::text, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,"
    " r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,"
    " coalesce(r.rolconfig, ARRAY[]::text[]),"
    " coalesce((SELECT s.setconfig FROM pg_db_role_setting s"
    "   JOIN pg_database d ON d.oid = s.setdatabase"
    "   WHERE s.setrole = r.oid AND d.datname = current_database()), ARRAY[]::text[])"
    " FROM pg_roles r"
)

# inherit_option and set_option exist from PostgreSQL 16; reading them through to_jsonb keeps
# one query text for every version.
_MEMBERSHIPS = sql.SQL(
    "SELECT g.rolname::text, m.rolname::text, a.admin_option,"
    " (to_jsonb(a) ->> 'inherit_option')::boolean,"
    " (to_jsonb(a) ->> 'set_option')::boolean, coalesce(o.rolname::text, a.grantor::text)"
    " FROM pg_auth_members a"
    " JOIN pg_roles g ON g.oid = a.roleid"
    " JOIN pg_roles m ON m.oid = a.member"
    " LEFT JOIN pg_roles o ON o.oid = a.grantor"
)


def fetch_roles(session: CatalogSession) -> dict[str, LiveRole]:
    roles = {}
    for row in session.rows(_ROLES):
        role = LiveRole(
            name=row[0],
            superuser=row[1],
            inherit=row[2],
            create_role=row[3],
            create_database=row[4],
            login=row[5],
            replication=row[6],
            bypass_row_level_security=row[7],
            connection_limit=row[8],
            config=tuple(row[9]),
            database_config=tuple(row[10]),
        )
        roles[role.name] = role
    return roles


def fetch_memberships(session: CatalogSession) -> tuple[LiveMembership, ...]:
    return tuple(
        sorted(
            (LiveMembership(*row) for row in session.rows(_MEMBERSHIPS)),
            key=lambda m: (m.group, m.member, m.grantor),
        )
    )
