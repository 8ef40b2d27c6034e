"""Audit scale: the live audit on 6, 100 and 500 service schemas x 30 tables.

Each size is a generated catalogue (N services, 30 tables each, two sensitive with RLS, one
cross read each), compiled, run under Pulumi mocks and replayed onto a fresh PostgreSQL 15
database, so the audit compares a real plan with a real catalog and finds nothing. Reported:
queries issued (must not grow), wall time of `run_audit` (median of 5), findings, and one
`pg_dump --schema-only` of the same database as the yardstick for reading a catalog.

Run: .venv/bin/python benchmarks/audit_scale/run.py [sizes...]   (default: 6 100 500)
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from edulink_db.audit.run import run_audit  # noqa: E402
from edulink_db.project import load_project  # noqa: E402
from edulink_db.stackfile import read_stack_config  # noqa: E402
from tests.support.cluster import start_cluster  # noqa: E402
from tests.support.deploy import admin_connection  # noqa: E402
from tests.support.program import PROJECT, run_program  # noqa: E402
from tests.support.replay import replay  # noqa: E402

TABLES = 30
PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"


def write_project(folder: Path, services: int) -> None:
    names = [f"svc{i:03d}" for i in range(services)]
    catalogue: dict[str, object] = {"version": 1, "services": {}}
    for index, name in enumerate(names):
        tables = {f"t{t:02d}": ({"sensitive": True} if t < 2 else {}) for t in range(TABLES)}
        spec: dict[str, object] = {"tables": tables}
        if index:
            spec["reads"] = [
                {
                    "service": names[index - 1],
                    "table": "t00",
                    "columns": ["id", "name"],
                    "references": ["id"],
                }
            ]
        catalogue["services"][name] = spec  # type: ignore[index]
        ddl = []
        for t in range(TABLES):
            ref = ""
            if index and t == 2:
                ref = f",\n    prev_id bigint REFERENCES {names[index - 1]}_schema.t00 (id)"
            ddl.append(
                f"CREATE TABLE {name}_schema.t{t:02d} (\n    id bigint PRIMARY KEY,\n    name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now(){ref}\n);\n"
            )
            if ref:
                ddl.append(f"CREATE INDEX ON {name}_schema.t{t:02d} (prev_id);\n")
        (folder / "migrations" / name).mkdir(parents=True)
        (folder / "migrations" / name / "0001_baseline.sql").write_text("".join(ddl))
    (folder / "catalogue.yaml").write_text(yaml.safe_dump(catalogue))
    stack = {
        "config": {
            f"{PROJECT}:target": {"host": "127.0.0.1", "sslmode": "disable"},
            f"{PROJECT}:disposable": True,
            f"{PROJECT}:protected": False,
        }
    }
    (folder / "Pulumi.bench.yaml").write_text(yaml.safe_dump(stack))
    shutil.copy(ROOT / "__main__.py", folder / "__main__.py")


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
        database = cluster.create_database()
        started = time.perf_counter()
        replay(
            recording, cluster.admin_dsn(database), admin_connection(cluster, database), workers=8
        )
        deploy_s = time.perf_counter() - started
        times, report = [], None
        for _ in range(5):
            started = time.perf_counter()
            report = run_audit(cluster.admin_dsn(database), project.plan, project.catalogue.shapes)
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
    return {
        "schemas": services,
        "tables": services * TABLES,
        "queries": report.queries,
        "audit_s": statistics.median(times),
        "pg_dump_s": dump_s,
        "findings": len(report.findings),
        "not_evaluated": len(report.not_evaluated),
        "deploy_s": deploy_s,
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [6, 100, 500]
    print(
        "| schemas | tables | queries | audit (median of 5) | pg_dump --schema-only | findings | not evaluated |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="edulink-bench-") as cluster_dir:
            row = measure(size, Path(cluster_dir))
        print(
            f"| {row['schemas']} | {row['tables']} | {row['queries']} | {row['audit_s']:.2f} s |"
            f" {row['pg_dump_s']:.2f} s | {row['findings']} | {row['not_evaluated']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
