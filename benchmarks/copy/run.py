"""Benchmark: `edulink-db migrate-data` against a raw `psql \\copy | psql \\copy` pipeline.

Run:  cd /work/main && .venv/bin/python benchmarks/copy/run.py [--pg 15|16] [--rows N]
          [--small N] [--repeat N] [--output FILE]

One PostgreSQL cluster is started here (shared_buffers 512MB, max_wal_size 4GB, so neither
method pays for a checkpoint the other escaped), the prod program is replayed onto it, and a
legacy auth database is filled with 1,000 accounts and N security events (the legacy
`accounts_securityevent`: uuid, uuid, two short strings, inet, a user agent, a JSON text, a
naive timestamp). Both methods move the events into `auth_schema.security_logs` (row-level
security forced, three indexes, a foreign key to users, check constraints) on the same server,
from the same legacy table, applying the same transforms (lower(), JSON parse, time zone):

* ours  `python -m edulink_db.cli.migrate_data --service auth --tables security_logs`,
        the whole command: start-up, pre-flight (both catalogs, every transform probed, the
        legacy count, every user_id checked against the target's users), COPY streamed
        through psycopg with the legacy count + checksum computed beside it by a second
        session, the target's count + checksum after it, the run record;
* raw   `psql -c "\\copy (SELECT <transformed>) TO STDOUT" | psql -c "\\copy ... FROM STDIN"`,
        as the admin (which bypasses row-level security), nothing checked.

Before each measured run the table is emptied (and its run record deleted); the two methods
alternate, `--repeat` times each, and medians are reported. Wall time comes from the client;
peak memory (max RSS) from /usr/bin/time around each client process (for the pipeline, the
two psql processes added up); CPU time is the server sessions' (the postmaster's reaped
children) plus the clients', a figure the machine's other load does not inflate. The same is
done with `--small` rows to show that our peak memory does not grow with the row count.
Results go to results.json beside this file (or --output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.support.cluster import Cluster, bin_dir_for, start_cluster  # noqa: E402
from tests.support.deploy import Deployment, deploy  # noqa: E402
from tests.support.program import recorded  # noqa: E402

USERS = 1_000
LEGACY_DDL = """
CREATE TABLE auth_user (
    id uuid PRIMARY KEY, password varchar(128) NOT NULL, last_login timestamptz,
    is_superuser boolean NOT NULL, username varchar(150) NOT NULL UNIQUE,
    first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL,
    email varchar(254) NOT NULL, is_staff boolean NOT NULL, is_active boolean NOT NULL,
    date_joined timestamptz NOT NULL, email_verified boolean NOT NULL DEFAULT false,
    email_verified_on timestamptz, failed_login_count integer NOT NULL DEFAULT 0,
    locked_until timestamptz, modified timestamptz NOT NULL
);
CREATE TABLE accounts_securityevent (
    id uuid PRIMARY KEY, user_id uuid REFERENCES auth_user (id), event varchar(40) NOT NULL,
    level varchar(10) NOT NULL, ip_address inet, user_agent text,
    details text NOT NULL DEFAULT '', created timestamp NOT NULL
);
"""
FILL_USERS = """
INSERT INTO auth_user
SELECT gen_random_uuid(), 'pbkdf2_sha256$600000$' || md5(n::text), now(), false, 'user' || n,
       'First', 'Last', 'user' || n || '@example.org', false, true, now() - interval '1 year',
       true, now() - interval '1 year', 0, NULL, now()
FROM generate_series(1, %s) n
"""
FILL_EVENTS = """
INSERT INTO accounts_securityevent
SELECT gen_random_uuid(), u.ids[1 + n %% array_length(u.ids, 1)],
       (ARRAY['LOGIN_SUCCEEDED', 'login_failed', 'Logout', 'PASSWORD_CHANGED'])[1 + n %% 4],
       (ARRAY['INFO', 'Warning', 'critical'])[1 + n %% 3],
       ('10.' || (n / 65536) %% 256 || '.' || (n / 256) %% 256 || '.' || n %% 256)::inet,
       'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
       CASE WHEN n %% 3 = 0 THEN '' ELSE '{"attempt": ' || n %% 7 || ', "via": "web ✓"}' END,
       timestamp '2022-01-01' + n * interval '7 seconds'
FROM generate_series(1, %s) n, (SELECT array_agg(id) AS ids FROM auth_user) u
"""
# The transforms of legacy/auth.yaml, written by hand as one would for a psql pipeline.
RAW_SELECT = (
    "SELECT id, user_id, lower(event), lower(level), ip_address, user_agent,"
    " coalesce(nullif(details, '')::jsonb, '{}'), created AT TIME ZONE 'Africa/Nairobi'"
    " FROM accounts_securityevent"
)
RAW_COLUMNS = "id, user_id, event_type, severity, ip_address, user_agent, details, created_at"
_SECONDS = re.compile(r" in ([0-9.]+) s$")


def configure(cluster: Cluster) -> None:
    """More shared memory and WAL than the test cluster's, then restart."""
    assert cluster.data_dir is not None
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '512MB'")
        conn.execute("ALTER SYSTEM SET max_wal_size = '4GB'")
    pg_ctl = str(bin_dir_for(cluster.major) / "pg_ctl")
    log = str(cluster.data_dir.parent / "server.log")
    argv = [pg_ctl, "restart", "-D", str(cluster.data_dir), "-l", log, "-w", "-m", "fast"]
    if platform.system() == "Linux" and os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    subprocess.run(argv, check=True, capture_output=True, cwd=cluster.data_dir.parent)


def legacy_database(cluster: Cluster, rows: int) -> str:
    dsn = cluster.superuser_dsn(cluster.create_database())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(LEGACY_DDL)
        conn.execute(FILL_USERS, (USERS,))
        conn.execute(FILL_EVENTS, (rows,))
        conn.execute("VACUUM ANALYZE")
    return dsn


def timed(argv: list[str]) -> tuple[list[str], Path]:
    """`argv` under /usr/bin/time, which reports the peak RSS of the program itself: a
    process forked from this one would inherit this process's high-water mark (Linux keeps
    ru_maxrss across exec)."""
    handle, name = tempfile.mkstemp(prefix="rss-")
    os.close(handle)
    return ["/usr/bin/time", "-f", "%M", "-o", name, *argv], Path(name)


def peak_kib(report: Path) -> int:
    value = int(report.read_text().split()[-1])
    report.unlink()
    return value


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, int, str, str]:
    """Wall seconds, peak RSS (KiB), stdout, stderr."""
    command, report = timed(argv)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{argv[:4]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return seconds, peak_kib(report), result.stdout, result.stderr


def empty_target(deployment: Deployment) -> None:
    with deployment.superuser() as conn:
        conn.execute("TRUNCATE auth_schema.security_logs")
        conn.execute(
            "DELETE FROM auth_schema.edulink_data_migrations WHERE table_name = 'security_logs'"
        )
        conn.execute("VACUUM ANALYZE auth_schema.security_logs")
        conn.execute("CHECKPOINT")


def ours(deployment: Deployment, legacy: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "EDULINK_LEGACY_DSN": legacy,
        "EDULINK_TARGET_DSN": deployment.cluster.admin_dsn(deployment.database),
    }
    argv = [sys.executable, "-m", "edulink_db.cli.migrate_data", "--service", "auth"]
    seconds, rss, stdout, _ = run_child(
        [*argv, "--tables", "security_logs", "--no-progress", "--root", str(ROOT)], env
    )
    table_line = stdout.splitlines()[0]
    found = _SECONDS.search(table_line)
    return {
        "seconds": seconds,
        "copy_and_verify_seconds": float(found.group(1)) if found else None,
        "max_rss_kib": rss,
    }


def raw(deployment: Deployment, legacy: str) -> dict[str, Any]:
    """The two psql processes connected by a pipe; peak RSS is the sum of both (they run
    at the same time)."""
    target = deployment.cluster.admin_dsn(deployment.database)
    env = {**os.environ, "PGTZ": "UTC"}
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    read, read_report = timed([*psql, legacy, "-c", f"\\copy ({RAW_SELECT}) to stdout"])
    write, write_report = timed(
        [*psql, target, "-c", f"\\copy auth_schema.security_logs ({RAW_COLUMNS}) from stdin"]
    )
    start = time.perf_counter()
    reader = subprocess.Popen(read, env=env, stdout=subprocess.PIPE)
    writer = subprocess.Popen(write, env=env, stdin=reader.stdout)
    assert reader.stdout is not None
    reader.stdout.close()  # the writer holds the pipe now
    if writer.wait() != 0 or reader.wait() != 0:
        raise SystemExit("the psql pipeline failed")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "max_rss_kib": peak_kib(read_report) + peak_kib(write_report)}


def cpu_seconds(cluster: Cluster) -> float:
    """CPU time used so far by the server's finished sessions (the postmaster's reaped
    children, /proc cutime + cstime) and by this process's finished child processes: a
    measure of work that the machine's other load does not inflate."""
    assert cluster.data_dir is not None
    time.sleep(0.3)  # let the postmaster reap the sessions that just ended
    pid = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    server = (int(fields[13]) + int(fields[14])) / ticks  # fields 16 and 17: cutime, cstime
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return server + children.ru_utime + children.ru_stime


def count(deployment: Deployment) -> int:
    with deployment.superuser() as conn:
        row = conn.execute("SELECT count(*) FROM auth_schema.security_logs").fetchone()
    return int(row[0]) if row else -1


def measure(deployment: Deployment, legacy: str, rows: int, repeat: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "raw": []}
    for index in range(repeat):
        order = ("ours", "raw") if index % 2 == 0 else ("raw", "ours")
        for method in order:
            empty_target(deployment)
            load = os.getloadavg()[0]
            cpu = cpu_seconds(deployment.cluster)
            result = ours(deployment, legacy) if method == "ours" else raw(deployment, legacy)
            result["cpu_seconds"] = cpu_seconds(deployment.cluster) - cpu
            result["load_before"] = load
            assert count(deployment) == rows, method
            runs[method].append(result)
            print(f"  {rows:>9,} rows  {method:<4}  {result}", flush=True)

    def median(method: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[method])

    summary = {
        "rows": rows,
        "raw_seconds": median("raw", "seconds"),
        "ours_seconds": median("ours", "seconds"),
        "ours_copy_and_verify_seconds": median("ours", "copy_and_verify_seconds"),
        "raw_cpu_seconds": median("raw", "cpu_seconds"),
        "ours_cpu_seconds": median("ours", "cpu_seconds"),
        "raw_max_rss_kib": max(r["max_rss_kib"] for r in runs["raw"]),
        "ours_max_rss_kib": max(r["max_rss_kib"] for r in runs["ours"]),
        "runs": runs,
        "load_average_range": [
            min(r["load_before"] for m in runs.values() for r in m),
            max(r["load_before"] for m in runs.values() for r in m),
        ],
    }
    summary["raw_rows_per_s"] = rows / summary["raw_seconds"]
    summary["ours_rows_per_s"] = rows / summary["ours_seconds"]
    summary["throughput_ratio"] = summary["raw_seconds"] / summary["ours_seconds"]
    summary["copy_phase_ratio"] = summary["raw_seconds"] / summary["ours_copy_and_verify_seconds"]
    summary["cpu_ratio"] = summary["raw_cpu_seconds"] / summary["ours_cpu_seconds"]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", type=int, default=15)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", default="results.json", help="file name, beside this script")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="edulink-copy-bench-"))
    cluster = start_cluster(args.pg, base)
    try:
        configure(cluster)
        deployment = deploy(cluster, recorded("prod"))
        results: dict[str, Any] = {
            "postgresql": args.pg,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        }
        for rows in (args.small, args.rows):
            legacy = legacy_database(cluster, rows)
            # accounts first: the events reference them (the pre-flight checks it)
            env = {
                **os.environ,
                "EDULINK_LEGACY_DSN": legacy,
                "EDULINK_TARGET_DSN": deployment.cluster.admin_dsn(deployment.database),
            }
            with deployment.superuser() as conn:
                conn.execute("TRUNCATE auth_schema.users CASCADE")
                conn.execute("DROP TABLE IF EXISTS auth_schema.edulink_data_migrations")
            cli = [sys.executable, "-m", "edulink_db.cli.migrate_data", "--service", "auth"]
            run_child([*cli, "--tables", "users", "--no-progress", "--root", str(ROOT)], env)
            results[str(rows)] = measure(deployment, legacy, rows, args.repeat)
        (HERE / args.output).write_text(json.dumps(results, indent=2) + "\n")
        for rows in (args.small, args.rows):
            r = results[str(rows)]
            print(
                f"{rows:>9,} rows: raw {r['raw_seconds']:.2f} s "
                f"({r['raw_rows_per_s']:,.0f} rows/s, "
                f"{r['raw_max_rss_kib'] / 1024:.0f} MiB) | ours {r['ours_seconds']:.2f} s "
                f"({r['ours_rows_per_s']:,.0f} rows/s, {r['ours_max_rss_kib'] / 1024:.0f} MiB), "
                f"copy+verify {r['ours_copy_and_verify_seconds']:.2f} s | ratio "
                f"{r['throughput_ratio']:.2f} (copy phase {r['copy_phase_ratio']:.2f}) | CPU "
                f"raw {r['raw_cpu_seconds']:.1f} s, ours {r['ours_cpu_seconds']:.1f} s"
            )
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
