"""One bulk read per statistics view, for every service schema and login role at once.

Each query takes the schemas or roles as one array parameter, so the number of queries is
the same for 6 services as for 500, and for 30 tables as for 15,000.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from psycopg import sql

from edulink_db.inspect.snapshot import (
    IndexStats,
    LiveLogin,
    Lock,
    ServerFacts,
    Session,
    Statement,
    TableStats,
)
from edulink_db.introspect.session import CatalogSession

STATEMENTS_PER_ROLE = 10  # top statements kept per login, by total time, calls and worst time

# What the inspection itself runs as a service's group to explain its statements, and which
# pg_stat_statements records under that group (only a superuser may switch tracking off):
# left out of the service's figures.
OWN_STATEMENTS = r"^\s*(explain|prepare|execute|deallocate|set local (role|search_path))\M"

_FACTS = sql.SQL(
    "SELECT pg_catalog.current_setting('server_version_num')::int,"
    " pg_catalog.current_setting('block_size')::int,"
    " pg_catalog.current_setting('track_counts')::bool,"
    " pg_catalog.current_setting('track_activities')::bool,"
    " (SELECT d.stats_reset FROM pg_catalog.pg_stat_database d"
    "   WHERE d.datname = pg_catalog.current_database()),"
    " pg_catalog.current_setting('autovacuum_vacuum_threshold')::int,"
    " pg_catalog.current_setting('autovacuum_vacuum_scale_factor')::float8,"
    " (SELECT n.nspname::text FROM pg_catalog.pg_extension e"
    "   JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
    "   WHERE e.extname = 'pg_stat_statements'),"
    " 'pg_stat_statements' = ANY(pg_catalog.string_to_array(pg_catalog.replace("
    "   pg_catalog.current_setting('shared_preload_libraries'), ' ', ''), ',')),"
    " ARRAY(SELECT ARRAY[r.rolname::text, r.rolconnlimit::text,"
    "     pg_catalog.array_to_string(r.rolconfig, E'\\n'),"
    "     (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a"
    "       WHERE a.usename = r.rolname)::text]"
    "   FROM pg_catalog.pg_roles r WHERE r.rolname = ANY(%(logins)s))"
)

_TABLES = sql.SQL(
    "WITH widths AS (SELECT s.schemaname, s.tablename, sum(s.avg_width)::int AS width"
    "   FROM pg_catalog.pg_stats s WHERE s.schemaname = ANY(%(schemas)s)"
    "   GROUP BY 1, 2)"
    " SELECT n.nspname::text, c.relname::text, c.reltuples::float8, c.relpages::bigint,"
    " z.heap - z.toast, z.indexes, z.toast, z.heap + z.indexes,"
    " coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), coalesce(s.seq_scan, 0),"
    " coalesce(s.seq_tup_read, 0), coalesce(s.idx_scan, 0), coalesce(s.n_tup_ins, 0),"
    " coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0),"
    " s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,"
    " coalesce(s.vacuum_count, 0), coalesce(s.autovacuum_count, 0),"
    " coalesce(io.heap_blks_hit, 0), coalesce(io.heap_blks_read, 0),"
    " coalesce(io.idx_blks_hit, 0), coalesce(io.idx_blks_read, 0),"
    " c.relrowsecurity, w.width,"
    " coalesce((SELECT o.option_value::int FROM pg_catalog.pg_options_to_table(c.reloptions) o"
    "   WHERE o.option_name = 'fillfactor'), 100)"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid"
    " LEFT JOIN pg_catalog.pg_statio_all_tables io ON io.relid = c.oid"
    " LEFT JOIN widths w ON w.schemaname = n.nspname AND w.tablename = c.relname"
    # Each size function reads the sizes of files: every one is asked once per table.
    " CROSS JOIN LATERAL (SELECT pg_catalog.pg_table_size(c.oid) AS heap,"
    "   pg_catalog.pg_indexes_size(c.oid) AS indexes,"
    "   coalesce(pg_catalog.pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) AS toast) z"
    " WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')"
    " ORDER BY 1, 2"
)

_INDEXES = sql.SQL(
    "SELECT n.nspname::text, t.relname::text, i.relname::text,"
    " pg_catalog.pg_relation_size(i.oid), coalesce(s.idx_scan, 0), coalesce(s.idx_tup_read, 0),"
    " x.indisunique OR x.indisprimary OR x.indisexclusion, x.indisvalid,"
    " pg_catalog.pg_get_indexdef(x.indexrelid),"
    " coalesce(io.idx_blks_hit, 0), coalesce(io.idx_blks_read, 0)"
    " FROM pg_catalog.pg_index x"
    " JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid"
    " JOIN pg_catalog.pg_class t ON t.oid = x.indrelid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace"
    " LEFT JOIN pg_catalog.pg_stat_all_indexes s ON s.indexrelid = x.indexrelid"
    " LEFT JOIN pg_catalog.pg_statio_all_indexes io ON io.indexrelid = x.indexrelid"
    " WHERE n.nspname = ANY(%(schemas)s) AND t.relkind IN ('r', 'p')"
    " ORDER BY 1, 2, 3"
)

# The services' sessions, and whoever blocks one of them (an admin's ALTER, say).
_SESSIONS = sql.SQL(
    "WITH a AS (SELECT s.*, pg_catalog.pg_blocking_pids(s.pid) AS blocked_by"
    "   FROM pg_catalog.pg_stat_activity s"
    "   WHERE s.pid <> pg_catalog.pg_backend_pid() AND s.backend_type = 'client backend')"
    " SELECT a.pid, a.usename::text, coalesce(a.datname::text, ''),"
    " coalesce(a.application_name, ''), a.state, a.wait_event_type, a.wait_event,"
    " extract(epoch FROM now() - a.backend_start)::float8,"
    " extract(epoch FROM now() - a.xact_start)::float8,"
    " extract(epoch FROM now() - a.query_start)::float8,"
    " extract(epoch FROM now() - a.state_change)::float8,"
    " a.query, a.blocked_by"
    " FROM a WHERE a.usename = ANY(%(logins)s)"
    "   OR a.pid IN (SELECT unnest(b.blocked_by) FROM a b WHERE b.usename = ANY(%(logins)s))"
    " ORDER BY a.pid"
)

# Locks the services' sessions hold or wait for, and any lock on a service's relation;
# granted ACCESS SHARE (every SELECT takes one) only where it blocks nobody.
_LOCKS = sql.SQL(
    "SELECT l.pid, coalesce(a.usename::text, ''), l.locktype, l.mode, l.granted,"
    " n.nspname::text, c.relname::text,"
    " extract(epoch FROM now() - l.waitstart)::float8"
    " FROM pg_catalog.pg_locks l"
    " JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
    " LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation"
    " LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE l.pid <> pg_catalog.pg_backend_pid()"
    "   AND (a.usename = ANY(%(logins)s) OR n.nspname = ANY(%(schemas)s))"
    "   AND l.locktype IN ('relation', 'tuple', 'transactionid', 'advisory', 'object')"
    "   AND NOT (l.granted AND l.mode = 'AccessShareLock')"
    " ORDER BY l.pid, l.locktype, l.mode"
)

_STATEMENTS = (
    "WITH s AS (SELECT r.rolname::text AS role, p.queryid, p.calls, p.total_exec_time,"
    "   p.mean_exec_time, p.max_exec_time, p.rows, p.shared_blks_hit, p.shared_blks_read,"
    "   p.query,"
    "   row_number() OVER (PARTITION BY p.userid ORDER BY p.total_exec_time DESC) AS by_time,"
    "   row_number() OVER (PARTITION BY p.userid ORDER BY p.calls DESC) AS by_calls,"
    "   row_number() OVER (PARTITION BY p.userid ORDER BY p.max_exec_time DESC) AS by_max"
    "  FROM {view} p JOIN pg_catalog.pg_roles r ON r.oid = p.userid"
    "  WHERE r.rolname = ANY(%(logins)s) AND p.toplevel AND p.query !~* %(own)s"
    "   AND p.dbid = (SELECT d.oid FROM pg_catalog.pg_database d"
    "     WHERE d.datname = pg_catalog.current_database()))"
    " SELECT role, queryid, calls, total_exec_time, mean_exec_time, max_exec_time, rows,"
    " shared_blks_hit, shared_blks_read, query FROM s"
    " WHERE by_time <= %(top)s OR by_calls <= %(top)s OR by_max <= %(top)s"
    " ORDER BY total_exec_time DESC"
)

_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$")


def parse_duration_ms(text: str | None) -> int | None:
    """A time setting as PostgreSQL reads it (`5000`, `5s`, `1min`) in milliseconds; None
    for absent or 0 (no timeout)."""
    if text is None:
        return None
    match = _DURATION.match(text)
    if not match:
        return None
    value = float(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]
    return int(value) or None


def _role_setting(config: str, name: str) -> str | None:
    for line in config.splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    return None


def fetch_facts(session: CatalogSession, logins: Sequence[str]) -> ServerFacts:
    row = session.rows(_FACTS, {"logins": list(logins)})[0]
    found: dict[str, LiveLogin] = {}
    for name, limit, config, connections in row[9]:
        found[name] = LiveLogin(
            name=name,
            connection_limit=int(limit),
            statement_timeout_ms=parse_duration_ms(
                _role_setting(config or "", "statement_timeout")
            ),
            idle_in_transaction_timeout_ms=parse_duration_ms(
                _role_setting(config or "", "idle_in_transaction_session_timeout")
            ),
            connections=int(connections),
        )
    return ServerFacts(
        server_version_num=row[0],
        block_size=row[1],
        track_counts=row[2],
        track_activities=row[3],
        stats_reset=row[4],
        autovacuum_threshold=row[5],
        autovacuum_scale_factor=row[6],
        statements_schema=row[7],
        statements_loaded=bool(row[8]),
        logins=found,
    )


def fetch_tables(session: CatalogSession, schemas: Sequence[str]) -> tuple[TableStats, ...]:
    return tuple(TableStats(*row) for row in session.rows(_TABLES, {"schemas": list(schemas)}))


def fetch_indexes(session: CatalogSession, schemas: Sequence[str]) -> tuple[IndexStats, ...]:
    return tuple(IndexStats(*row) for row in session.rows(_INDEXES, {"schemas": list(schemas)}))


def fetch_sessions(session: CatalogSession, logins: Sequence[str]) -> tuple[Session, ...]:
    rows = session.rows(_SESSIONS, {"logins": list(logins)})
    return tuple(Session(*row[:-1], tuple(row[-1] or ())) for row in rows)  # type: ignore[call-arg]


def fetch_locks(
    session: CatalogSession, schemas: Sequence[str], logins: Sequence[str]
) -> tuple[Lock, ...]:
    rows = session.rows(_LOCKS, {"schemas": list(schemas), "logins": list(logins)})
    return tuple(Lock(*row) for row in rows)


def fetch_statements(
    session: CatalogSession, schema: str, roles: Sequence[str]
) -> tuple[Statement, ...]:
    """The top statements of each role (a login acts as its group, and statements are
    recorded under the group) from pg_stat_statements in `schema`."""
    query = sql.SQL(_STATEMENTS).format(view=sql.Identifier(schema, "pg_stat_statements"))
    rows: list[tuple[Any, ...]] = session.rows(
        query, {"logins": list(roles), "top": STATEMENTS_PER_ROLE, "own": OWN_STATEMENTS}
    )
    return tuple(Statement(*row) for row in rows)
