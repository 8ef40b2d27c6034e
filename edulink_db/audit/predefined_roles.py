"""What PostgreSQL's predefined roles give their members, for findings about a service role
that is a member of one.

Membership of a predefined role reaches past every ACL the plan sets: no grant on a service's
table shows it, so the audit names what the role gives rather than leaving "every privilege of
pg_maintain" for the reader to look up. The majors that added a role are named, because the
same membership means nothing on an older server (PostgreSQL 17 added `pg_maintain`, the role
form of its new MAINTAIN privilege).
"""

from __future__ import annotations

from typing import Final

PREDEFINED_ROLES: Final[dict[str, str]] = {
    "pg_read_all_data": "SELECT on every table, view and sequence, and USAGE on every schema",
    "pg_write_all_data": (
        "INSERT, UPDATE and DELETE on every table, view and sequence, and USAGE on every schema"
    ),
    "pg_maintain": (
        "MAINTAIN on every table (PostgreSQL 17+): VACUUM, ANALYZE, CLUSTER, REINDEX, "
        "REFRESH MATERIALIZED VIEW and LOCK TABLE in any mode, which can block every service"
    ),
    "pg_signal_backend": "cancelling and terminating other roles' sessions",
    "pg_read_server_files": "reading any file the server can read (COPY FROM a file)",
    "pg_write_server_files": "writing any file the server can write (COPY TO a file)",
    "pg_execute_server_program": "running programs on the database server (COPY ... PROGRAM)",
    "pg_monitor": "every session's statistics and query text, and every setting",
    "pg_read_all_stats": "every session's statistics and query text",
}


def predefined_reach(role: str) -> str | None:
    """What membership of `role` gives, if it is a predefined role the audit knows."""
    return PREDEFINED_ROLES.get(role)
