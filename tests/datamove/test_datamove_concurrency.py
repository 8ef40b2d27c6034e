"""Two runs of one service's move at once: they take turns table by table and each table is
copied exactly once.

The test holds the schema's advisory lock while both runs start, so both pass the pre-flight
(the target is still empty) and queue on the lock; then it lets go. Directly, and through
PgBouncer in transaction mode with two server connections, where consecutive transactions of
one client may land on different server sessions: a session-level lock would not serialise
anything there, the transaction-scoped one does.
"""

from __future__ import annotations

import re
from contextlib import ExitStack

import pytest
from psycopg import sql

from edulink_db.bookkeeping import RUN_TABLE
from edulink_db.catalogue.load import load_catalogue
from edulink_db.datamove.mapping import load_mapping
from edulink_db.datamove.run import APPLICATION_NAME
from edulink_db.datamove.runrecord import lock_key
from tests.datamove.conftest import (
    PROCESS_TIMEOUT_S,
    ROOT,
    make_legacy,
    running,
    target_dsn,
    wait_for,
)
from tests.datamove.legacy_world import World
from tests.support.cluster import ADMIN_PASSWORD, ADMIN_ROLE, Cluster
from tests.support.deploy import deploy
from tests.support.pgbouncer import transaction_pooler
from tests.support.program import recorded

SUMMARY = re.compile(
    r"auth: (\d+) table\(s\) copied and verified, ([\d,]+) rows"
    r"(?:; (\d+) skipped \(verified by an earlier run\))?"
)


@pytest.mark.parametrize("through_pooler", [False, True], ids=["direct", "pgbouncer"])
def test_two_runs_at_once_copy_each_table_once(
    pg_cluster: Cluster, world: World, through_pooler: bool
) -> None:
    deployment = deploy(pg_cluster, recorded("prod"))
    source = make_legacy(pg_cluster, "auth", world)
    tables = load_mapping(ROOT, "auth", load_catalogue(ROOT)).mapping.tables
    with ExitStack() as stack:
        target = target_dsn(deployment)
        if through_pooler:
            pooler = stack.enter_context(
                transaction_pooler(pg_cluster, {ADMIN_ROLE: ADMIN_PASSWORD}, pool_size=2)
            )
            target = pooler.dsn(ADMIN_ROLE, ADMIN_PASSWORD, deployment.database)
        holder = stack.enter_context(deployment.superuser())
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("auth_schema"),))
        runs = [stack.enter_context(running("auth", source, target)) for _ in range(2)]
        wait_for(
            deployment,
            "SELECT true FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = %s"
            " HAVING count(*) = 2",
            (APPLICATION_NAME,),
        )
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key("auth_schema"),))
        outputs = [run.communicate(timeout=PROCESS_TIMEOUT_S) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    summaries = [SUMMARY.fullmatch(stdout.splitlines()[-1]) for stdout, _ in outputs]
    assert all(summaries), outputs
    copied = [int(m.group(1)) for m in summaries if m]
    skipped = [int(m.group(3) or 0) for m in summaries if m]
    rows = [int(m.group(2).replace(",", "")) for m in summaries if m]
    assert sum(copied) == sum(skipped) == len(tables)
    with deployment.superuser() as conn:
        recorded_rows = dict(
            conn.execute(
                sql.SQL("SELECT table_name, rows FROM {}").format(
                    sql.Identifier("auth_schema", RUN_TABLE)
                )
            ).fetchall()
        )
        held = {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("auth_schema", table))
            ).fetchone()
            for table in tables
        }
    assert sorted(recorded_rows) == sorted(tables)
    assert held == {table: (count,) for table, count in recorded_rows.items()}
    assert sum(rows) == sum(recorded_rows.values())
