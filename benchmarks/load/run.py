"""Benchmark: the prod limits under pgbench, and what the generated RLS costs in throughput.

Run:  cd /work/main && .venv/bin/python benchmarks/load/run.py [--pg 15|16] [--seconds 10]

The prod program is replayed onto a PostgreSQL cluster started here; pgbench (Debian's, of
the same major when there is one) then connects over loopback as each service's login role,
with the password the replay gave it:

(a) connection limit: `-c <limit>` clients succeed, `-c <limit + 1>` is refused; the limit
    is the one the plan compiled from Pulumi.prod.yaml (`limits` / `serviceLimits`).
(b) statement timeout: `SELECT pg_sleep(timeout + 1 s)` is cancelled (all six at once).
(c) throughput of two typical reads, with the generated RLS and with RLS disabled by the
    superuser between runs (NO FORCE + DISABLE, restored afterwards):
    - auth: a user by primary key (`auth_schema.users`, owner policy `USING (true)`)
    - user: the acting profile's preferences (`user_schema.preferences`, owner policy plus
      the restrictive `preferences_acting_profile` policy), with
      `set_config('edulink.acting_profile_id', ..., true)` in the same transaction.
    Runs alternate (rls, off, rls, off, ...) `--rounds` times; medians are reported.

Results go to results.json beside this file (results-<protocol>.json with --protocol).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from psycopg import sql  # noqa: E402

from edulink_db.project import load_project  # noqa: E402
from tests.support.cluster import start_cluster  # noqa: E402
from tests.support.deploy import Deployment, deploy  # noqa: E402
from tests.support.program import recorded, stack_config, with_admin_password  # noqa: E402

SERVICES = ("auth", "institution", "user", "notification", "application", "internship")
ROWS = 100_000
READS = {
    "auth: user by id": ("auth", "read_user.sql", sql.Identifier("auth_schema", "users")),
    "user: acting profile's preferences": (
        "user",
        "read_preferences.sql",
        sql.Identifier("user_schema", "preferences"),
    ),
}


def pgbench_path(major: int) -> str:
    for candidate in (
        f"/usr/lib/postgresql/{major}/bin/pgbench",
        "/usr/lib/postgresql/15/bin/pgbench",
    ):
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("pgbench not found (Debian: apt-get install postgresql-client)")
    return found


class Bench:
    def __init__(self, deployment: Deployment, pgbench: str) -> None:
        self.deployment = deployment
        self.pgbench = pgbench

    def run(
        self, service: str, args: list[str], timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        d = self.deployment
        role = str(d.recording.by_name(f"{service}-login-role").inputs["name"])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = d.login_password(service)
        argv = [
            self.pgbench,
            "-n",  # no vacuum of pgbench's own tables
            "-h",
            d.cluster.host,
            "-p",
            str(d.cluster.port),
            "-U",
            role,
            *args,
            d.database,
        ]
        return subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )

    def wait_idle(self, role: str) -> None:
        """Until no session of `role` is left (backends exit asynchronously after a close)."""
        with self.deployment.superuser() as su:
            for _ in range(200):
                row = su.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [role]
                ).fetchone()
                if row == (0,):
                    return
                time.sleep(0.05)
        raise RuntimeError(f"sessions of {role} did not end")


def _errors(text: str) -> list[str]:
    """pgbench's error lines, without anything that could carry a password."""
    return [
        line.strip()
        for line in text.splitlines()
        if ("error" in line.lower() or "FATAL" in line or "aborted" in line)
        and "password" not in line.lower()
    ]


def connection_limits(bench: Bench, plan: Any) -> list[dict[str, Any]]:
    rows = []
    for service in SERVICES:
        login = plan.service(service).login
        limit = login.connection_limit
        bench.wait_idle(login.name)
        ok = bench.run(
            service, ["-c", str(limit), "-j", "1", "-t", "1", "-f", str(HERE / "select_one.sql")]
        )
        bench.wait_idle(login.name)
        over = bench.run(
            service,
            ["-c", str(limit + 1), "-j", "1", "-t", "1", "-f", str(HERE / "select_one.sql")],
        )
        failed_client = re.search(r"could not create connection for client (\d+)", over.stderr)
        rows.append(
            {
                "service": service,
                "role": login.name,
                "limit": limit,
                "limit_clients_exit": ok.returncode,
                "limit_plus_one_exit": over.returncode,
                "refused_client_index": int(failed_client[1]) if failed_client else None,
                "error": _errors(over.stderr),
            }
        )
    return rows


def statement_timeouts(bench: Bench, plan: Any) -> list[dict[str, Any]]:
    def one(service: str) -> dict[str, Any]:
        login = plan.service(service).login
        sleep_s = login.statement_timeout_ms / 1000 + 1
        started = time.perf_counter()
        done = bench.run(
            service,
            ["-c", "1", "-t", "1", "-D", f"sleep={sleep_s}", "-f", str(HERE / "runaway.sql")],
        )
        return {
            "service": service,
            "statement_timeout_ms": login.statement_timeout_ms,
            "pg_sleep_s": sleep_s,
            "exit": done.returncode,
            "cancelled_after_s": round(time.perf_counter() - started, 2),
            "error": _errors(done.stderr + done.stdout),
        }

    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        return list(pool.map(one, SERVICES))


def load_data(deployment: Deployment) -> None:
    with deployment.superuser() as su:
        su.execute("SET session_replication_role = replica")  # FKs of preferences not checked
        su.execute(
            sql.SQL(
                "INSERT INTO auth_schema.users (id, email) SELECT md5(i::text)::uuid,"
                " 'user' || i || '@example.com' FROM generate_series(1, {}) AS i"
            ).format(sql.Literal(ROWS))
        )
        su.execute(
            sql.SQL(
                "INSERT INTO user_schema.preferences (profile_id) SELECT md5(i::text)::uuid"
                " FROM generate_series(1, {}) AS i"
            ).format(sql.Literal(ROWS))
        )
        su.execute("RESET session_replication_role")
        su.execute("VACUUM (ANALYZE) auth_schema.users, user_schema.preferences")


def set_rls(deployment: Deployment, table: sql.Identifier, on: bool) -> None:
    with deployment.superuser() as su:
        if on:
            su.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(table))
            su.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(table))
        else:
            su.execute(sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(table))
            su.execute(sql.SQL("ALTER TABLE {} DISABLE ROW LEVEL SECURITY").format(table))


def throughput(
    bench: Bench, plan: Any, seconds: int, rounds: int, clients: int, protocol: str
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, (service, script, table) in READS.items():
        login = plan.service(service).login
        runs: dict[str, list[float]] = {"rls": [], "off": []}
        check = {}
        for _ in range(rounds):
            for mode in ("rls", "off"):
                set_rls(bench.deployment, table, mode == "rls")
                bench.wait_idle(login.name)
                done = bench.run(
                    service,
                    [
                        "-c",
                        str(clients),
                        "-j",
                        "2",
                        "-T",
                        str(seconds),
                        "-M",
                        protocol,
                        "-D",
                        f"rows={ROWS}",
                        "-f",
                        str(HERE / script),
                    ],
                    timeout=seconds * 4 + 30,
                )
                match = re.search(
                    r"tps = ([\d.]+) \(without initial connection time\)", done.stdout
                )
                if done.returncode != 0 or match is None:
                    raise RuntimeError(f"pgbench failed: {_errors(done.stderr + done.stdout)}")
                runs[mode].append(float(match[1]))
                failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
                check[mode] = int(failed[1]) if failed else 0
        set_rls(bench.deployment, table, True)
        rls, off = statistics.median(runs["rls"]), statistics.median(runs["off"])
        # Each RLS run next to the run without RLS that followed it: drift (other load on the
        # machine) hits both members of a pair alike.
        paired = [r / o for r, o in zip(runs["rls"], runs["off"], strict=True)]
        results[label] = {
            "service": service,
            "script": script,
            "tps_rls": runs["rls"],
            "tps_off": runs["off"],
            "median_rls": round(rls, 1),
            "median_off": round(off, 1),
            "rls_over_off": round(rls / off, 3),
            "paired_ratios": [round(p, 3) for p in paired],
            "median_paired_ratio": round(statistics.median(paired), 3),
            "failed_transactions": check,
        }
    return results


def rows_visible(deployment: Deployment) -> dict[str, Any]:
    """What the typical reads return as the login roles (correctness of the setup)."""
    with deployment.login("user") as user, user.transaction():
        user.execute("SELECT set_config('edulink.acting_profile_id', md5('42')::uuid::text, true)")
        prefs = user.execute("SELECT count(*) FROM user_schema.preferences").fetchone()
    with deployment.login("auth") as auth:
        users = auth.execute("SELECT count(*) FROM auth_schema.users").fetchone()
    return {
        "user sees preferences while acting": prefs[0] if prefs else None,
        "auth sees users": users[0] if users else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", type=int, default=15)
    parser.add_argument("--seconds", type=int, default=8, help="length of each pgbench run")
    parser.add_argument("--rounds", type=int, default=5, help="pgbench runs per mode")
    parser.add_argument("--clients", type=int, default=4, help="pgbench clients for (c)")
    parser.add_argument(
        "--protocol",
        choices=["simple", "extended", "prepared"],
        default="simple",
        help="pgbench -M for (c): simple plans every statement, as through a transaction "
        "pooler without prepared statements; prepared lets the server cache plans",
    )
    args = parser.parse_args()

    config, secret = with_admin_password(stack_config("prod"))
    plan = load_project(ROOT, "prod", config, secret).plan
    pgbench = pgbench_path(args.pg)
    base = Path(tempfile.mkdtemp(prefix="edulink-load-"))
    results: dict[str, Any] = {"pgbench": pgbench, "loadavg_before": os.getloadavg()}
    try:
        with start_cluster(args.pg, base) as cluster:
            deployment = deploy(cluster, recorded("prod"))
            with deployment.superuser() as su:
                results["server_version"] = str(su.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            results["pgbench_version"] = subprocess.run(
                [pgbench, "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
            bench = Bench(deployment, pgbench)
            results["connection_limit"] = connection_limits(bench, plan)
            results["statement_timeout"] = statement_timeouts(bench, plan)
            load_data(deployment)
            results["visible"] = rows_visible(deployment)
            results["throughput"] = throughput(
                bench, plan, args.seconds, args.rounds, args.clients, args.protocol
            )
            results["throughput_settings"] = {
                "seconds": args.seconds,
                "rounds": args.rounds,
                "clients": args.clients,
                "threads": 2,
                "rows": ROWS,
                "protocol": args.protocol,
            }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    results["loadavg_after"] = os.getloadavg()
    name = "results.json" if args.protocol == "simple" else f"results-{args.protocol}.json"
    (HERE / name).write_text(json.dumps(results, indent=2) + "\n")
    report(results)


def report(results: dict[str, Any]) -> None:
    print(f"PostgreSQL {results['server_version']}; {results['pgbench_version']}")
    print(f"load average before/after: {results['loadavg_before']} / {results['loadavg_after']}\n")
    print("(a) connection limit\n")
    print("| service | role | limit | -c limit | -c limit+1 | refused client | error |")
    print("|---|---|---|---|---|---|---|")
    for r in results["connection_limit"]:
        print(
            f"| {r['service']} | {r['role']} | {r['limit']} | exit {r['limit_clients_exit']} |"
            f" exit {r['limit_plus_one_exit']} | {r['refused_client_index']} |"
            f" {' / '.join(r['error'][:1])} |"
        )
    print("\n(b) statement timeout\n")
    print("| service | statement_timeout | pg_sleep | exit | returned after | error |")
    print("|---|---|---|---|---|---|")
    for r in results["statement_timeout"]:
        print(
            f"| {r['service']} | {r['statement_timeout_ms']} ms | {r['pg_sleep_s']} s |"
            f" {r['exit']} | {r['cancelled_after_s']} s | {' / '.join(r['error'][:1])} |"
        )
    print(f"\nrows visible: {results['visible']}")
    print("\n(c) throughput\n")
    print(
        "| read | tps with RLS (runs) | tps without RLS (runs) | median RLS | median off |"
        " RLS / off | median of paired ratios |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, r in results["throughput"].items():
        print(
            f"| {label} | {', '.join(f'{t:.0f}' for t in r['tps_rls'])} |"
            f" {', '.join(f'{t:.0f}' for t in r['tps_off'])} | {r['median_rls']} |"
            f" {r['median_off']} | {r['rls_over_off']} | {r['median_paired_ratio']} |"
        )


if __name__ == "__main__":
    main()
