"""A restore in place interrupted mid-way leaves the old data.

The server is a second one of the session's major started for this module, so it can be
restarted under the restore without touching other tests. Auth holds 200,000 more security
events, so the restore is still copying them when the test restarts the server; the CLI runs
in a subprocess with the DSN in its environment, as an operator would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from edulink_db.backup.restore import APPLICATION_NAME
from tests.datamove.legacy_world import World
from tests.operations.conftest import (
    ROOT,
    SCHEMAS,
    Platform,
    moved_platform,
    operate,
    table_states,
)
from tests.support.cluster import Cluster, cluster_base_dir, start_cluster
from tests.support.report import register_secret

EXTRA_EVENTS = 200_000
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def spare(pg_cluster: Cluster) -> Iterator[Cluster]:
    with (
        cluster_base_dir(pg_cluster.major) as base,
        start_cluster(pg_cluster.major, base) as server,
    ):
        register_secret(conninfo_to_dict(server.superuser_dsn()).get("password", ""))
        yield server


@pytest.fixture(scope="module")
def big(
    spare: Cluster, world: World, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Platform, Path]:
    """The platform on `spare` with many more security events, and a backup of auth."""
    platform = moved_platform(spare, world)
    with platform.superuser() as conn:
        conn.execute(
            "INSERT INTO auth_schema.security_logs (user_id, event_type, severity, details,"
            " created_at) SELECT u.ids[1 + n %% array_length(u.ids, 1)], 'login_failed',"
            " 'warning', jsonb_build_object('n', n), timestamptz '2024-01-01' + n * interval '1 s'"
            " FROM generate_series(1, %s) n, (SELECT array_agg(id) AS ids FROM auth_schema.users) u",
            (EXTRA_EVENTS,),
        )
    out = tmp_path_factory.mktemp("backup") / "auth.zip"
    code, _, stderr = operate(
        "backup", "--service", "auth", "--out", str(out), env={"EDULINK_DSN": platform.admin_dsn}
    )
    assert (code, stderr) == (0, "")
    return platform, out


def _copying(platform: Platform) -> None:
    """Wait until the restore streams security events into the table."""
    deadline = time.monotonic() + TIMEOUT_S
    with platform.superuser() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT 1 FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)"
                " WHERE a.application_name = %s"
                " AND p.relid = 'auth_schema.security_logs'::regclass"
                " AND p.tuples_processed >= 10000",
                (APPLICATION_NAME,),
            ).fetchone()
            if row:
                return
            time.sleep(0.02)
    raise AssertionError("the restore never reached auth_schema.security_logs")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_server_restart_mid_restore_leaves_the_old_data(
    spare: Cluster, big: tuple[Platform, Path], mode: Literal["fast", "immediate"]
) -> None:
    platform, backup = big
    with platform.superuser() as conn:
        conn.execute("DELETE FROM auth_schema.security_logs WHERE details ? 'n'")
        conn.execute("UPDATE auth_schema.users SET is_active = NOT is_active")
        old = table_states(conn, SCHEMAS)
    env = {**os.environ, "EDULINK_DSN": platform.admin_dsn}
    command = [sys.executable, "-m", "edulink_db.cli.operations", "restore", "--service", "auth"]
    process = subprocess.Popen(
        [*command, "--from", str(backup), "--in-place"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _copying(platform)
        spare.restart(mode)
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, stdout) == (2, "")
    assert stderr.startswith("error: the restore of auth into postgres@127.0.0.1:"), stderr
    assert "failed: the connection was lost (" in stderr
    assert stderr.endswith("its transaction was rolled back, nothing was changed\n")
    with platform.superuser() as conn:
        assert table_states(conn, SCHEMAS) == old
    code, stdout, stderr = operate(
        "restore",
        "--service",
        "auth",
        "--from",
        str(backup),
        "--in-place",
        env={"EDULINK_DSN": platform.admin_dsn},
    )
    assert (code, stderr) == (0, "")
    assert f"security_logs: {EXTRA_EVENTS + 60:,} rows verified" in stdout.splitlines()


def test_a_drill_of_a_large_table_builds_its_indexes_after_the_rows(
    spare: Cluster, big: tuple[Platform, Path]
) -> None:
    """Tables from 10,000 rows are loaded before their indexes and keys, which must come back
    exactly as the migrations define them."""
    platform, backup = big
    scratch = spare.create_database()
    code, stdout, stderr = operate(
        "restore",
        "--service",
        "auth",
        "--from",
        str(backup),
        env={"EDULINK_DSN": spare.admin_dsn(scratch)},
    )
    assert (code, stderr) == (0, ""), stdout
    definitions = (
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'auth_schema'"
        " UNION ALL SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE connamespace = 'auth_schema'::regnamespace ORDER BY 1, 2"
    )
    with platform.superuser() as conn:
        source = table_states(conn, ["auth_schema"])
        source_definitions = conn.execute(definitions).fetchall()
    with psycopg.connect(spare.superuser_dsn(scratch), autocommit=True) as conn:
        restored = table_states(conn, ["auth_schema"])
        restored_definitions = conn.execute(definitions).fetchall()
    del source["auth_schema.edulink_migrations"], restored["auth_schema.edulink_migrations"]
    assert restored == source
    assert restored["auth_schema.security_logs"][0] > EXTRA_EVENTS
    # The drill leaves out nothing here: auth references no other schema.
    assert restored_definitions == source_definitions
