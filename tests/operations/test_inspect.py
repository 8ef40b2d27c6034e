"""`edulink-db inspect` on a platform under load.

A server of the session's major is started for this module, with pg_stat_statements loaded
where the build has it (Debian's 15 and npm's 17 do; pgserver's 16 does not, and there the
statement reports must say so). Prod is deployed, every service's data moved in, the
server restarted (a cold cache), then pgbench runs each service's own statements as its
login. While the inspection runs, auth holds nine of its ten planned connections: one in a
transaction holding a row lock, one blocked on that lock, one sleeping in a long query.
Tampering provokes the rest: a correlated sub-select in a policy, a dropped foreign-key
index, updates without vacuum.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg.conninfo import conninfo_to_dict

from edulink_db.inspect.fetch import OWN_STATEMENTS
from tests.datamove.legacy_world import World
from tests.operations.conftest import Platform, moved_platform, operate
from tests.support.cluster import (
    Cluster,
    ClusterError,
    bin_dir_for,
    cluster_base_dir,
    start_cluster,
)
from tests.support.report import register_secret

TIMEOUT_S = 60
PGBENCH_CANDIDATES = ("/usr/lib/postgresql/15/bin/pgbench",)
# Each service's own statements; every one reads the tables as its login does.
SCRIPTS = {
    "auth": [
        "SELECT count(*) FROM users WHERE is_active;",
        "SELECT * FROM users WHERE id = (SELECT id FROM users ORDER BY email LIMIT 1);",
        "SELECT count(*) FROM security_logs WHERE event_type = 'login_failed';",
    ],
    "user": [
        "SELECT * FROM preferences WHERE language = 'en';",
        "SELECT * FROM contact_information WHERE is_primary;",
        "SELECT count(*) FROM user_profiles WHERE deleted_at IS NULL;",
    ],
    "institution": ["SELECT count(*) FROM programs WHERE is_active;"],
    "notification": ["SELECT count(*) FROM notification_queue WHERE status = 'pending';"],
    "application": ["SELECT count(*) FROM applications WHERE status = 'submitted';"],
    "internship": ["SELECT count(*) FROM internship_postings WHERE status = 'published';"],
}
TAMPER = """
CREATE POLICY contact_of_live_profiles ON user_schema.contact_information AS RESTRICTIVE
    FOR SELECT TO user_service_role
    USING (EXISTS (SELECT 1 FROM user_schema.user_profiles p
                   WHERE p.id = profile_id AND p.deleted_at IS NULL));
DROP INDEX user_schema.profile_history_profile_id_created_at_idx;
ALTER TABLE auth_schema.security_logs SET (autovacuum_enabled = false);
INSERT INTO auth_schema.security_logs (user_id, event_type, details)
    SELECT NULL, 'login_failed', jsonb_build_object('n', n) FROM generate_series(1, 20000) n;
"""
THRESHOLDS = """
statement_timeout: {warning: 0.1, error: 5.0}
cache_hit: {warning: 1.0, error: 0.0}
cache_min_blocks: 1
unused_index_min_bytes: 0
seq_scan_share: {warning: 0.5, error: 1.1}
seq_scan_min_rows: 0
dead_rows: {warning: 0.01, error: 1.1}
dead_rows_min: 0
bloat: {warning: 0.3, error: 100}
bloat_min_bytes: 0
blocked_seconds: {warning: 0, error: 3600}
transaction_seconds: {warning: 0.5, error: 3600}
"""


def pgbench() -> str:
    """Debian's (any pgbench drives any newer server), else pgserver's, else PATH's."""
    for candidate in PGBENCH_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    try:
        return str(bin_dir_for(16) / "pgbench")
    except ClusterError:
        found = shutil.which("pgbench")
        assert found, "pgbench is needed (Debian's postgresql-15 has it)"
        return found


@dataclass(frozen=True)
class Inspected:
    platform: Platform
    statements: bool  # pg_stat_statements is loaded on this server
    report: dict[str, Any]  # the JSON output, all services
    code: int
    table: str
    prometheus: str
    auth_only: dict[str, Any]
    holder_pid: int
    blocked_pid: int
    sleeper_pid: int


@pytest.fixture(scope="module")
def server(pg_cluster: Cluster) -> Iterator[Cluster]:
    with (
        cluster_base_dir(pg_cluster.major) as base,
        start_cluster(pg_cluster.major, base) as started,
    ):
        register_secret(conninfo_to_dict(started.superuser_dsn()).get("password", ""))
        yield started


def _statements_available(cluster: Cluster) -> bool:
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
        ).fetchone()
        if not row or not row[0]:
            return False
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    cluster.restart("fast")
    return True


def _load(platform: Platform) -> None:
    tool = pgbench()
    for service, statements in SCRIPTS.items():
        role = f"{service}_service"
        script = "\n".join(statements) + "\n"
        dsn = platform.deployment.login_dsn(service, role)
        done = subprocess.run(
            [tool, "-n", "-c", "2", "-t", "50", "-f", "/dev/stdin", dsn],
            input=script,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, (service, done.stderr[-500:])


def _wait(platform: Platform, query: str, params: tuple[Any, ...]) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    with platform.superuser() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
            if row and row[0] is not None:
                return row[0]
            time.sleep(0.05)
    raise AssertionError(f"timed out: {query}")


@pytest.fixture(scope="module")
def inspected(
    server: Cluster, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Inspected]:
    statements = _statements_available(server)
    platform = moved_platform(server, world)
    with platform.superuser() as conn:
        if statements:
            conn.execute("CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions")
        conn.execute(TAMPER.encode())
        for _ in range(3):
            conn.execute("UPDATE auth_schema.security_logs SET severity = severity")
        # The backend holds its counts of the inserts for up to a second before it reports
        # them; reported after ANALYZE sets the live-row count, they would count twice.
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("ANALYZE")
    server.restart("fast")  # a cold buffer cache; statistics survive a clean restart
    _load(platform)
    thresholds = tmp_path_factory.mktemp("inspect") / "thresholds.yaml"
    thresholds.write_text(THRESHOLDS)
    dsn = platform.deployment.login_dsn("auth", "auth_service")
    with platform.deployment.login("auth") as first:
        first.execute("SELECT pg_sleep(1)")  # a statement at a fifth of auth's 5 s timeout
    holder = psycopg.connect(dsn)
    idle = [psycopg.connect(dsn, autocommit=True) for _ in range(6)]
    blocked = psycopg.connect(dsn, autocommit=True)
    sleeper = psycopg.connect(dsn, autocommit=True)
    threads: list[threading.Thread] = []
    try:
        holder.execute(
            "UPDATE users SET failed_login_attempts = failed_login_attempts"
            " WHERE id = (SELECT id FROM users ORDER BY email LIMIT 1)"
        )
        blocked_pid, sleeper_pid = blocked.info.backend_pid, sleeper.info.backend_pid
        blocked.execute("SET statement_timeout = 0")  # it stays blocked for every format
        threads = [
            threading.Thread(
                target=blocked.execute,
                args=(
                    "UPDATE users SET is_staff = is_staff WHERE id = (SELECT id FROM users ORDER BY email LIMIT 1)",
                ),
            ),
            threading.Thread(target=sleeper.execute, args=("SELECT pg_sleep(4)",)),
        ]
        for thread in threads:
            thread.start()
        _wait(
            platform,
            "SELECT 1 WHERE %s = ANY(pg_blocking_pids(%s))",
            (holder.info.backend_pid, blocked_pid),
        )
        _wait(
            platform,
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active'"
            " AND now() - query_start > interval '1 s'",
            (sleeper_pid,),
        )
        time.sleep(0.6)  # the holder's transaction passes the 0.5 s threshold
        env = {"EDULINK_INSPECT_DSN": platform.admin_dsn}
        args = ("inspect", "--thresholds", str(thresholds))
        code, out, err = operate(*args, "--format", "json", env=env)
        assert err == "", err
        _, table, _ = operate(*args, env=env)
        _, prometheus, _ = operate(*args, "--format", "prometheus", env=env)
        _, auth_only, _ = operate(*args, "--service", "auth", "--format", "json", env=env)
        yield Inspected(
            platform,
            statements,
            json.loads(out),
            code,
            table,
            prometheus,
            json.loads(auth_only),
            holder.info.backend_pid,
            blocked_pid,
            sleeper_pid,
        )
    finally:
        holder.rollback()
        for thread in threads:
            thread.join(timeout=TIMEOUT_S)
        for conn in (holder, blocked, sleeper, *idle):
            conn.close()


STATEMENT_SECTIONS = ("outliers", "calls", "statement_timeouts", "rls_plans")


def _rows(inspected: Inspected, section: str) -> list[dict[str, Any]]:
    found = inspected.report["sections"][section]
    assert found["unavailable"] is None, found["unavailable"]
    return list(found["rows"])


def test_every_report_has_rows_under_load(inspected: Inspected) -> None:
    sections = inspected.report["sections"]
    assert list(sections) == [
        "table_sizes",
        "index_sizes",
        "index_usage",
        "unused_indexes",
        "seq_scans",
        "cache_hit",
        "bloat",
        "vacuum_stats",
        "role_connections",
        "role_configs",
        "long_running_queries",
        "blocking",
        "locks",
        "outliers",
        "calls",
        "statement_timeouts",
        "rls_plans",
        "unindexed_foreign_keys",
    ]
    for name, section in sections.items():
        if name in STATEMENT_SECTIONS and not inspected.statements:
            assert section["unavailable"].startswith(
                "pg_stat_statements is not installed in this database"
            ), name
            continue
        services = {row["service"] for row in _rows(inspected, name)}
        assert services, name
    every = {"auth", "user", "institution", "notification", "application", "internship"}
    for name in (
        "table_sizes",
        "index_sizes",
        "index_usage",
        "seq_scans",
        "bloat",
        "vacuum_stats",
        "role_connections",
        "role_configs",
        "cache_hit",
    ):
        assert {row["service"] for row in _rows(inspected, name)} == every, name


def test_sizes_counts_and_scans_are_the_servers(inspected: Inspected) -> None:
    sizes = {(r["service"], r["table"]): r for r in _rows(inspected, "table_sizes")}
    logs = sizes[("auth", "security_logs")]
    assert logs["rows"] == 20_060
    assert logs["total_bytes"] == logs["table_bytes"] + logs["index_bytes"] + logs["toast_bytes"]
    usage = {(r["service"], r["table"]): r for r in _rows(inspected, "index_usage")}
    assert usage[("auth", "users")]["index_scans"] > 0  # the lookup by id
    scans = {(r["service"], r["table"]) for r in _rows(inspected, "seq_scans")}
    assert ("institution", "programs") in scans
    bloat = {(r["service"], r["table"]): r for r in _rows(inspected, "bloat")}
    assert bloat[("auth", "security_logs")]["waste_bytes"] > 0
    vacuum = {(r["service"], r["table"]): r for r in _rows(inspected, "vacuum_stats")}
    assert vacuum[("auth", "security_logs")]["dead_rows"] >= 20_000
    assert vacuum[("auth", "security_logs")]["autovacuum_due"] is True
    hits = {(r["service"], r["of"]): r for r in _rows(inspected, "cache_hit")}
    assert hits[("auth", "tables")]["reads"] > 0  # a cold cache after the restart


def test_connections_and_timeouts_are_measured_against_the_plan(inspected: Inspected) -> None:
    connections = {r["role"]: r for r in _rows(inspected, "role_connections")}
    assert connections["auth_service"] == {
        "service": "auth",
        "role": "auth_service",
        "connections": 9,
        "planned_limit": 10,
        "live_limit": 10,
        "share": 0.9,
    }
    configs = {r["role"]: r for r in _rows(inspected, "role_configs")}
    assert configs["auth_service"]["statement_timeout_planned"] == 5000
    assert configs["auth_service"]["statement_timeout_live"] == 5000
    assert all(
        r["statement_timeout_planned"] == r["statement_timeout_live"] for r in configs.values()
    )


def test_sessions_blocking_and_locks_show_who_waits_for_whom(inspected: Inspected) -> None:
    blocking = _rows(inspected, "blocking")
    assert [(r["blocked_pid"], r["blocking_pid"], r["blocking_role"]) for r in blocking] == [
        (inspected.blocked_pid, inspected.holder_pid, "auth_service")
    ]
    row = blocking[0]
    assert row["blocked_query"] == (  # constants are shown as $n
        "UPDATE users SET is_staff = is_staff WHERE id = (SELECT id FROM users ORDER BY email "
        "LIMIT $1)"
    )
    assert row["blocking_state"] == "idle in transaction"
    waiting = [r for r in _rows(inspected, "locks") if not r["granted"]]
    assert {r["pid"] for r in waiting} == {inspected.blocked_pid}
    running = {r["pid"]: r for r in _rows(inspected, "long_running_queries")}
    assert running[inspected.sleeper_pid]["query"] == "SELECT pg_sleep($1)"  # constants hidden
    assert running[inspected.holder_pid]["state"] == "idle in transaction"


def test_top_statements_and_their_plans(inspected: Inspected) -> None:
    sections = inspected.report["sections"]
    if not inspected.statements:
        for name in STATEMENT_SECTIONS:
            assert sections[name]["unavailable"] == (
                "pg_stat_statements is not installed in this database (CREATE EXTENSION "
                "pg_stat_statements; Supabase has it in schema extensions): statement figures "
                "and plans of top statements are not available"
            )
        return
    calls = {(r["service"], r["query"]) for r in _rows(inspected, "calls")}
    assert ("institution", "SELECT count(*) FROM programs WHERE is_active") in calls
    assert all(
        not r["query"].lower().startswith(("explain", "prepare", "deallocate"))
        for r in _rows(inspected, "outliers")
    )
    timeouts = {(r["role"], r["query"]): r for r in _rows(inspected, "statement_timeouts")}
    sleep = timeouts[("auth_service_role", "SELECT pg_sleep($1)")]
    assert sleep["timeout_ms"] == 5000 and 0.19 < sleep["share"] < 1
    plans = {(r["table"], r["query"]): r["plan"] for r in _rows(inspected, "rls_plans")}
    assert plans[("user_schema.preferences", "SELECT * FROM preferences WHERE language = $1")] == (
        "init-plan"
    )
    assert plans[
        ("user_schema.contact_information", "SELECT * FROM contact_information WHERE is_primary")
    ] == ("per-row sub-plan")


def _codes(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["code"], f["object"]) for f in report["findings"]}


def test_each_provoked_problem_is_a_finding(inspected: Inspected) -> None:
    found = _codes(inspected.report)
    expected = {
        ("IN01", "auth_service"),
        ("IN03", f"auth_service pid {inspected.sleeper_pid}"),
        ("IN05", "user_schema.profile_history"),
        ("IN06", "auth tables"),
        ("IN07", "auth_schema.security_logs_created_at_idx"),
        ("IN08", "institution_schema.programs"),
        ("IN09", "auth_schema.security_logs"),
        ("IN10", "auth_schema.security_logs"),
        ("IN11", f"auth_service pid {inspected.blocked_pid}"),
        ("IN12", f"auth_service pid {inspected.holder_pid}"),
    }
    if inspected.statements:
        expected |= {("IN04", "user_schema.contact_information")}
        assert any(code == "IN02" and obj.startswith("auth_service query ") for code, obj in found)
    else:
        skipped = {n["code"] for n in inspected.report["not_evaluated"]}
        assert {"IN02", "IN04"} <= skipped
    assert expected <= found, expected - found
    assert all(f["level"] == "warning" or f["code"] == "IN07" for f in inspected.report["findings"])
    assert inspected.code == 1


def test_one_service_costs_the_same_queries_as_six(inspected: Inspected) -> None:
    everything, auth = inspected.report, inspected.auth_only
    assert auth["services"] == ["auth"]
    catalog = everything["queries"] - everything["plan_queries"]
    assert catalog == auth["queries"] - auth["plan_queries"] == (9 if inspected.statements else 8)
    assert {f["object"] for f in auth["findings"]} <= {f["object"] for f in everything["findings"]}
    assert all(r["service"] == "auth" for r in auth["sections"]["table_sizes"]["rows"])


def test_the_table_format_lists_sections_and_findings(inspected: Inspected) -> None:
    lines = inspected.table.splitlines()
    assert lines[0] == "== Table sizes and row counts [table_sizes]"
    assert lines[1].split() == [
        "service",
        "table",
        "rows",
        "table_bytes",
        "index_bytes",
        "toast_bytes",
        "total_bytes",
    ]
    assert "== Findings" in lines
    assert re.fullmatch(
        r"\d+ finding\(s\) \(0 error, \d+ warning, \d+ info\), \d+ not evaluated on "
        r"edulink_test_\w+ \(auth, institution, user, application, internship, notification\); "
        r"\d+ queries \(\d+ for plans\)",
        lines[-1],
    ), lines[-1]


def test_the_prometheus_format_is_what_a_textfile_collector_reads(inspected: Inspected) -> None:
    families = {f.name: f for f in text_string_to_metric_families(inspected.prometheus)}
    assert inspected.prometheus.endswith("\n")
    for name in (
        "edulink_db_table_bytes",
        "edulink_db_table_dead_rows",
        "edulink_db_index_scans",
        "edulink_db_role_connections",
        "edulink_db_role_connection_limit",
        "edulink_db_blocked_sessions",
        "edulink_db_oldest_transaction_seconds",
        "edulink_db_inspect_findings",
    ):
        assert name in families, name
    connections = {
        s.labels["service"]: s.value for s in families["edulink_db_role_connections"].samples
    }
    assert connections["auth"] == 9
    blocked = {
        s.labels["service"]: s.value for s in families["edulink_db_blocked_sessions"].samples
    }
    assert blocked == {
        "auth": 1,
        "user": 0,
        "institution": 0,
        "notification": 0,
        "application": 0,
        "internship": 0,
    }
    findings = {
        (s.labels["code"], s.labels["level"]): s.value
        for s in families["edulink_db_inspect_findings"].samples
    }
    assert findings[("IN11", "warning")] == 1
    assert "SELECT" not in inspected.prometheus  # no statement text becomes a label


def test_exit_codes_follow_the_audit(inspected: Inspected) -> None:
    env = {"EDULINK_INSPECT_DSN": inspected.platform.admin_dsn}
    code, _, _ = operate(
        "inspect", "--service", "internship", "--fail-on", "error", "--allow-not-evaluated", env=env
    )
    assert code == 0
    bad = inspected.platform.admin_dsn.replace("dbname=", "dbname=no_such_")
    code, stdout, stderr = operate("inspect", env={"EDULINK_INSPECT_DSN": bad})
    assert (code, stdout) == (2, "")
    assert stderr.startswith("error: cannot inspect the database: ")
    assert 'database "no_such_' in stderr
    code, _, stderr = operate("inspect", "--service", "billing", env=env)
    assert code == 2
    assert stderr == (
        "error: unknown service 'billing'; known: application, auth, institution, internship, "
        "notification, user\n"
    )


def test_own_statements_are_left_out_of_the_figures() -> None:
    pattern = re.compile(OWN_STATEMENTS.replace("\\M", "\\b"), re.IGNORECASE)
    assert pattern.match("EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON) SELECT 1")
    assert pattern.match('set local role "user_service_role"')
    assert not pattern.match("SELECT * FROM preferences")
