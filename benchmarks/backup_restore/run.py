"""Benchmark: `edulink-db backup` / `restore` against plain `pg_dump -Fc` / `pg_restore` of the
same schema, on the same server, in the same run.

Run:  .venv/bin/python benchmarks/backup_restore/run.py [--pg 15|16] [--rows N] [--repeat N]
          [--output FILE]

One cluster is started (shared_buffers 512MB, max_wal_size 4GB, so neither side pays for a
checkpoint the other escaped), prod is replayed onto it, and auth is filled as superuser:
1,000 users and N security events (uuid, uuid, two short strings, inet, a user agent, a small
JSON object, a timestamp; three indexes, a foreign key to users, row-level security forced).
The other services' tables are empty but their foreign keys into auth exist.

Compared, alternating, `--repeat` times each, medians reported:

* backup   ours: `python -m edulink_db.cli.operations backup --service auth` (the whole
           command: start-up, catalog, history checked against the migration files, COPY of
           every table into the zip, the server's count and checksum of every table in the
           same snapshot, the manifest)
           plain: `pg_dump -Fc -n auth_schema` (its default compression)
* restore into an empty database (the drill)
           ours: `restore --service auth` (schema from the migrations, COPY, every table's
           checksum verified against the manifest, one transaction)
           plain: `pg_restore -d` of the dump (schema, data, indexes, constraints, grants,
           policies)
* restore in place, onto the platform's own schema
           ours: `restore --service auth --in-place` (the file's SHA-256s, locks, staging
           of users, which other schemas reference, the reference check, TRUNCATE + COPY of
           the rest, merge of users, every table verified, the other schemas' foreign-key
           columns fingerprinted before and after)
           plain: `TRUNCATE ... CASCADE` of auth's tables (it would empty every referencing
           table of the other services: here they are empty) then
           `pg_restore --data-only --disable-triggers --single-transaction` (its data comes
           in name order, so foreign keys must be off: nothing is checked).

The ratio is plain's time over ours: 1.0 is as fast, the target is at least 0.8.
Results go to results.json beside this file (or --output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.support.cluster import Cluster, bin_dir_for, start_cluster  # noqa: E402
from tests.support.deploy import deploy  # noqa: E402
from tests.support.program import recorded  # noqa: E402

USERS = 1_000
AUTH_TABLES = (
    "users, user_sessions, password_reset_tokens, email_verification_tokens, oauth_providers,"
    " security_logs, edulink_migrations"
)
FILL = (
    """
INSERT INTO auth_schema.users (email, password_hash, is_active, created_at)
SELECT 'user' || n || '@example.org', md5(n::text), n %% 7 <> 0,
       timestamptz '2022-01-01' + n * interval '1 hour'
FROM generate_series(1, %(users)s) n
""",
    """
INSERT INTO auth_schema.security_logs (user_id, event_type, severity, ip_address, user_agent,
                                       details, created_at)
SELECT u.ids[1 + n %% array_length(u.ids, 1)],
       (ARRAY['login_succeeded', 'login_failed', 'logout'])[1 + n %% 3],
       (ARRAY['info', 'warning'])[1 + n %% 2],
       ('198.51.100.' || (n %% 250))::inet,
       'Mozilla/5.0 (X11; Linux x86_64) bench/' || (n %% 17),
       jsonb_build_object('attempt', n %% 5, 'source', 'bench'),
       timestamptz '2023-01-01' + n * interval '1 second'
FROM generate_series(1, %(rows)s) n, (SELECT array_agg(id) AS ids FROM auth_schema.users) u
""",
)


def tune(cluster: Cluster) -> None:
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '512MB'")
        conn.execute("ALTER SYSTEM SET max_wal_size = '4GB'")
    cluster.restart("fast")


def run(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=3600
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def ours(*args: str, dsn: str) -> list[str]:
    return [sys.executable, "-m", "edulink_db.cli.operations", *args]


def measure(major: int, rows: int, repeat: int) -> dict[str, Any]:
    bin_dir = bin_dir_for(major)
    pg_dump, pg_restore, psql = (str(bin_dir / n) for n in ("pg_dump", "pg_restore", "psql"))
    with tempfile.TemporaryDirectory(prefix="edulink-bench-") as base:
        cluster = start_cluster(major, Path(base))
        try:
            tune(cluster)
            deployment = deploy(cluster, recorded("prod"))
            database = deployment.database
            with psycopg.connect(cluster.superuser_dsn(database), autocommit=True) as conn:
                for statement in FILL:
                    conn.execute(statement, {"users": USERS, "rows": rows})
                conn.execute("VACUUM ANALYZE")
                size = conn.execute(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                    " WHERE c.relnamespace = 'auth_schema'::regnamespace AND c.relkind = 'r'"
                ).fetchone()
            folder = Path(base) / "files"
            folder.mkdir()
            ours_file, plain_file = folder / "auth.zip", folder / "auth.dump"
            admin = cluster.admin_dsn(database)
            env = {**os.environ, "EDULINK_DSN": admin}
            superuser = cluster.superuser_dsn(database)

            def scratch(admin_login: bool) -> str:
                name = cluster.create_database()
                return cluster.admin_dsn(name) if admin_login else cluster.superuser_dsn(name)

            timings: dict[str, list[float]] = {}
            steps: list[tuple[str, Callable[[], float]]] = [
                (
                    "backup ours",
                    lambda: run(
                        ours("backup", "--service", "auth", "--out", str(ours_file), dsn=admin), env
                    ),
                ),
                (
                    "backup plain",
                    lambda: run(
                        [pg_dump, "-Fc", "-n", "auth_schema", "-f", str(plain_file), superuser]
                    ),
                ),
                (
                    "scratch ours",
                    lambda: run(
                        ours("restore", "--service", "auth", "--from", str(ours_file), dsn=""),
                        {**os.environ, "EDULINK_DSN": scratch(True)},
                    ),
                ),
                (
                    "scratch plain",
                    lambda: run(
                        [pg_restore, "--exit-on-error", "-d", scratch(False), str(plain_file)]
                    ),
                ),
                (
                    "in place ours",
                    lambda: run(
                        ours(
                            "restore",
                            "--service",
                            "auth",
                            "--from",
                            str(ours_file),
                            "--in-place",
                            dsn=admin,
                        ),
                        env,
                    ),
                ),
                (
                    "in place plain",
                    lambda: (
                        run(
                            [
                                psql,
                                "-q",
                                "-c",
                                f"TRUNCATE {_qualified(AUTH_TABLES)} CASCADE",
                                superuser,
                            ]
                        )
                        + run(
                            [
                                pg_restore,
                                "--exit-on-error",
                                "--data-only",
                                "--disable-triggers",
                                "--single-transaction",
                                "-d",
                                superuser,
                                str(plain_file),
                            ]
                        )
                    ),
                ),
            ]
            for _ in range(repeat):
                for name, step in steps:
                    timings.setdefault(name, []).append(step())
            files = {"ours": ours_file.stat().st_size, "plain": plain_file.stat().st_size}
        finally:
            cluster.stop()
    medians = {name: statistics.median(values) for name, values in timings.items()}
    total = rows + USERS + 1
    return {
        "pg": major,
        "rows": rows,
        "schema_bytes": int(size[0]) if size and size[0] else 0,
        "files": files,
        "timings": timings,
        "medians": medians,
        "rows_per_s": {name: total / seconds for name, seconds in medians.items()},
        "ratios": {
            kind: medians[f"{kind} plain"] / medians[f"{kind} ours"]
            for kind in ("backup", "scratch", "in place")
        },
    }


def _qualified(tables: str) -> str:
    return ", ".join(f"auth_schema.{t.strip()}" for t in tables.split(","))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", type=int, default=15)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    result = measure(args.pg, args.rows, args.repeat)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load": os.getloadavg(),
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print("| step | plain | ours | ratio (plain / ours) |")
    print("|---|---:|---:|---:|")
    for kind in ("backup", "scratch", "in place"):
        plain, mine = result["medians"][f"{kind} plain"], result["medians"][f"{kind} ours"]
        print(f"| {kind} | {plain:.2f} s | {mine:.2f} s | {result['ratios'][kind]:.2f} |")
    print(
        f"files: ours {result['files']['ours']:,} bytes, plain {result['files']['plain']:,} bytes"
    )


if __name__ == "__main__":
    main()
