"""Inspect scale: `edulink-db inspect` on 6, 100 and 500 service schemas x 30 tables.

Each size is the audit benchmark's generated catalogue (N services, 30 tables each, two
sensitive with RLS, one cross read with a foreign key each), plus one policy per service
whose sub-select the RLS plan check looks at. It is compiled, run under Pulumi mocks and
replayed onto a fresh PostgreSQL 15 with pg_stat_statements loaded; then every service's
group runs two statements (one reads the table with that policy), so each service has top
statements and the plan check has candidates. Reported: catalog queries and plan queries
(neither may grow with the number of tables; plans are capped by PLAN_BUDGET), wall time of
`run_inspect` over all services (median of 5), sections, findings, and one `pg_dump
--schema-only` of the same database as the yardstick for reading a catalog.

Run: .venv/bin/python benchmarks/inspect_scale/run.py [sizes...]   (default: 6 100 500)
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from edulink_db.inspect.run import run_inspect  # noqa: E402
from edulink_db.inspect.scope import scope_of  # noqa: E402
from edulink_db.inspect.thresholds import Thresholds  # noqa: E402
from edulink_db.project import load_project  # noqa: E402
from edulink_db.stackfile import read_stack_config  # noqa: E402
from tests.support.cluster import start_cluster  # noqa: E402
from tests.support.deploy import admin_connection  # noqa: E402
from tests.support.program import PROJECT, run_program  # noqa: E402
from tests.support.replay import replay  # noqa: E402

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
POLICY = "id = coalesce((select nullif(current_setting('bench.acting_id', true), '')::bigint), id)"


def _audit_scale():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "audit_scale", ROOT / "benchmarks/audit_scale/run.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_project(folder: Path, services: int) -> None:
    """The audit benchmark's project, with a restrictive policy holding a sub-select on t01."""
    _audit_scale().write_project(folder, services)
    path = folder / "catalogue.yaml"
    catalogue = yaml.safe_load(path.read_text())
    for name, spec in catalogue["services"].items():
        spec["tables"]["t01"] = {
            "sensitive": True,
            "policies": [
                {
                    "name": f"{name}_acting",
                    "command": "all",
                    "roles": [name],
                    "restrictive": True,
                    "using": POLICY,
                    "with_check": POLICY,
                }
            ],
        }
    path.write_text(yaml.safe_dump(catalogue))


def load(conn: psycopg.Connection, schemas: list[str]) -> None:
    """Two statements per service, run as its group: pg_stat_statements records them."""
    for schema in schemas:
        group = schema.removesuffix("_schema") + "_service_role"
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(group)))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            conn.execute("SELECT * FROM t01 WHERE name = 'x'")
            conn.execute("SELECT count(*) FROM t05")


def measure(services: int, cluster_dir: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_project(folder, services)
        config, secret = read_stack_config(folder, "bench")
        config[f"{PROJECT}:adminPassword"] = "bench-admin-password"
        secret = {*secret, f"{PROJECT}:adminPassword"}
        recording = run_program("bench", config, sorted(secret), program=folder / "__main__.py")
        project = load_project(folder, "bench", config, secret)
    cluster = start_cluster(15, cluster_dir)
    try:
        with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        cluster.restart("fast")
        database = cluster.create_database()
        started = time.perf_counter()
        replay(
            recording, cluster.admin_dsn(database), admin_connection(cluster, database), workers=8
        )
        deploy_s = time.perf_counter() - started
        scope = scope_of(project.plan)
        with psycopg.connect(cluster.superuser_dsn(database), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions")
            # The deploy's own DDL ran as the groups too; the services' traffic starts now.
            conn.execute("SELECT extensions.pg_stat_statements_reset()")
            load(conn, scope.schemas)
        times, report = [], None
        for _ in range(5):
            started = time.perf_counter()
            report = run_inspect(cluster.admin_dsn(database), scope, Thresholds())
            times.append(time.perf_counter() - started)
        assert report is not None
        started = time.perf_counter()
        subprocess.run(
            [PG_DUMP, "--schema-only", "-f", "/dev/null", cluster.superuser_dsn(database)],
            check=True,
        )
        dump_s = time.perf_counter() - started
    finally:
        cluster.stop()
    plans = report.snapshot.plans if report.snapshot else None
    return {
        "schemas": services,
        "tables": services * 30,
        "catalog_queries": report.queries - report.plan_queries,
        "plan_queries": report.plan_queries,
        "plans": len(plans or ()),
        "inspect_s": statistics.median(times),
        "pg_dump_s": dump_s,
        "sections": len(report.sections),
        "findings": len(report.findings),
        "not_evaluated": len(report.not_evaluated),
        "deploy_s": deploy_s,
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [6, 100, 500]
    print(
        "| schemas | tables | catalog queries | plan queries (statements explained) |"
        " inspect (median of 5) | pg_dump --schema-only | findings | not evaluated |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="edulink-bench-") as cluster_dir:
            row = measure(size, Path(cluster_dir))
        print(
            f"| {row['schemas']} | {row['tables']} | {row['catalog_queries']} |"
            f" {row['plan_queries']} ({row['plans']}) | {row['inspect_s']:.2f} s |"
            f" {row['pg_dump_s']:.2f} s | {row['findings']} | {row['not_evaluated']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
