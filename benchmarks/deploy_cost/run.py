"""Benchmark: what a deploy costs the database, per resource, per service and per cross read.

Run:  cd /work/main && .venv/bin/python benchmarks/deploy_cost/run.py [--pg 15|16] [--rtt-ms 20]

1. Records the real program for the prod stack under the Pulumi mocks (`recorded("prod")`)
   and replays it onto a fresh database of a PostgreSQL cluster started here, one resource at
   a time in the replay's topological order. For each resource it counts what the replay
   logged (`Replay.statements`: the SQL pulumi-postgresql 3.18 runs, passwords redacted) and
   what reached the server (`log_statement = 'all'` for the admin role, read back from the
   server log): round trips, statements, transactions and connections. Dynamic resources
   (migrations, RLS) are counted from the server log only, since the replay does not log them.
2. The same for generated catalogues (benchmarks/program_scale/generate.py, chain topology):
   6 services, 7 services (one more service with its 2 cross reads), and 7 services plus one
   read (of a producer already read, and of a new producer). Differences give the marginal
   cost of a service and of a read.
3. Runs seed.sql, the hand-written SQL of the original design (one statement per round trip,
   as `psql -f` sends it), on a fresh database with the same tables, and counts the same way.

Writes results.json beside this file and prints the tables of README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE), str(ROOT / "benchmarks" / "program_scale")]

import generate  # noqa: E402
import psycopg  # noqa: E402
from serverlog import LOG_LINE_PREFIX, LogTail, Traffic, parse, total  # noqa: E402

from edulink_db.catalogue.load import load_catalogue  # noqa: E402
from edulink_db.plan.compile import dependency_order  # noqa: E402
from edulink_db.project import load_project  # noqa: E402
from tests.support.cluster import ADMIN_ROLE, Cluster, start_cluster  # noqa: E402
from tests.support.deploy import admin_connection, deploy  # noqa: E402
from tests.support.program import (  # noqa: E402
    Recording,
    recorded,
    run_program,
    stack_config,
    with_admin_password,
)
from tests.support.replay import Replay, _apply, topological_orders  # noqa: E402

SHORT_TYPES = {
    "postgresql:index/role:Role": "Role",
    "postgresql:index/grantRole:GrantRole": "GrantRole",
    "postgresql:index/schema:Schema": "Schema",
    "postgresql:index/grant:Grant": "Grant",
    "postgresql:index/defaultPrivileges:DefaultPrivileges": "DefaultPrivileges",
    "pulumi-python:dynamic/edulink-db:ServiceMigrations": "ServiceMigrations (dynamic)",
    "pulumi-python:dynamic/edulink-db:RowLevelSecurity": "RowLevelSecurity (dynamic)",
}


@dataclass
class ResourceCost:
    name: str
    type: str
    replay_statements: list[str]
    traffic: Traffic
    seconds: float


@dataclass
class DeployCost:
    label: str
    registered: int
    resources: list[ResourceCost] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def applied(self) -> list[ResourceCost]:
        return [r for r in self.resources if r.type in SHORT_TYPES]

    def totals(self) -> dict[str, int]:
        traffic = total(r.traffic for r in self.applied)
        return {
            "registered": self.registered,
            "sql_resources": len(self.applied),
            "replay_statements": sum(len(r.replay_statements) for r in self.applied),
            "round_trips": traffic.round_trips,
            "statements": traffic.statements,
            "transactions": traffic.transactions,
            "connections": traffic.connections,
        }

    def by_type(self) -> dict[str, dict[str, int]]:
        groups: dict[str, list[ResourceCost]] = defaultdict(list)
        for resource in self.applied:
            groups[SHORT_TYPES[resource.type]].append(resource)
        rows = {}
        for kind, items in groups.items():
            traffic = total(r.traffic for r in items)
            rows[kind] = {
                "resources": len(items),
                "replay_statements": sum(len(r.replay_statements) for r in items),
                "round_trips": traffic.round_trips,
                "statements": traffic.statements,
                "transactions": traffic.transactions,
                "connections": traffic.connections,
            }
        return rows


def enable_statement_log(cluster: Cluster) -> Path:
    assert cluster.data_dir is not None
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET log_line_prefix = '{LOG_LINE_PREFIX}'")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute(f"ALTER ROLE {ADMIN_ROLE} SET log_statement = 'all'")
    time.sleep(0.5)  # the reload reaches the postmaster asynchronously
    return cluster.data_dir.parent / "server.log"


def measure(cluster: Cluster, log_path: Path, recording: Recording, label: str) -> DeployCost:
    """Replay `recording` onto a fresh database, one resource at a time, counting each."""
    cluster.reset()
    database = cluster.create_database()
    admin_dsn = cluster.admin_dsn(database)
    connection = admin_connection(cluster, database)
    cost = DeployCost(label, registered=len(recording.resources))
    tail = LogTail(log_path)
    started = time.perf_counter()
    for resource in topological_orders(recording):
        log = Replay()
        begin = time.perf_counter()
        _apply(resource, admin_dsn, connection, log)
        seconds = time.perf_counter() - begin
        traffic = parse(tail.read(), ADMIN_ROLE, database)
        cost.resources.append(
            ResourceCost(resource.name, resource.type, log.statements, traffic, seconds)
        )
    cost.seconds = time.perf_counter() - started
    return cost


def record_generated(
    folder: Path, services: int, extra_reads: list[tuple[int, int]] | None = None
) -> Recording:
    project = generate.write_project(folder, services, extra_reads)
    config, secret = with_admin_password(stack_config(generate.STACK, root=project))
    return run_program(generate.STACK, config, secret, program=project / "__main__.py")


# -- the original design's hand-written SQL --------------------------------------------------

_SPLIT = re.compile(r";\s*(?:--[^\n]*)?\n")


def seed_statements(path: Path) -> list[str]:
    """seed.sql split into statements (it holds no semicolons inside literals or bodies)."""
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")
    )
    return [s.strip() for s in _SPLIT.split(text + "\n") if s.strip()]


@dataclass
class SeedCost:
    statements_by_kind: Counter[str]
    platform: Traffic
    ddl: Traffic
    seconds: float


def run_seed(cluster: Cluster, log_path: Path) -> SeedCost:
    """seed.sql's setup, the same migration files (the tables), then its grants and RLS.

    Everything runs as the admin on one connection in autocommit, one statement per round
    trip, which is what `psql -f seed.sql` does. Each migration file is one round trip, as
    the platform sends it.
    """
    statements = seed_statements(HERE / "seed.sql")
    setup = [s for s in statements if s.upper().startswith(("CREATE SCHEMA", "CREATE ROLE"))]
    rest = [s for s in statements if s not in setup]
    kinds: Counter[str] = Counter(_seed_kind(s) for s in statements)
    cluster.reset()
    database = cluster.create_database()
    tail = LogTail(log_path)
    started = time.perf_counter()
    with psycopg.connect(cluster.admin_dsn(database), autocommit=True) as conn:
        for statement in setup:
            conn.execute(statement.encode())
        platform = parse(tail.read(), ADMIN_ROLE, database)
        services = load_catalogue(ROOT).services
        for service in dependency_order(services):  # producers first: their tables are referenced
            for file in sorted((ROOT / "migrations" / service).glob("*.sql")):
                conn.execute(file.read_bytes())
        ddl = parse(tail.read(), ADMIN_ROLE, database)
        for statement in rest:
            conn.execute(statement.encode())
        platform = total([platform, parse(tail.read(), ADMIN_ROLE, database)])
    return SeedCost(kinds, platform, ddl, time.perf_counter() - started)


def _seed_kind(statement: str) -> str:
    upper = " ".join(statement.upper().split())
    for prefix, kind in (
        ("CREATE SCHEMA", "CREATE SCHEMA"),
        ("CREATE ROLE", "CREATE ROLE ... NOLOGIN"),
        ("GRANT ALL ON ALL TABLES", "GRANT ALL ON ALL TABLES IN SCHEMA"),
        ("GRANT SELECT", "cross GRANT SELECT"),
        ("ALTER TABLE", "ALTER TABLE ... ENABLE ROW LEVEL SECURITY"),
        ("CREATE POLICY", "CREATE POLICY"),
    ):
        if upper.startswith(prefix):
            return kind
    return "other"


def minimum_correct_statements() -> dict[str, int]:
    """What a hand-written script that fixes defects 1-8 needs at least, from the prod plan.

    Per service: CREATE ROLE group and login (flags, limit and password inline), ALTER ROLE
    login SET search_path / statement_timeout / idle_in_transaction_session_timeout / role,
    GRANT group TO login, CREATE SCHEMA ... AUTHORIZATION group; per RLS table ENABLE and
    FORCE; one CREATE POLICY per policy; one GRANT per planned grant; the two global default
    privilege revokes. All of it fits in one transaction, sent as one script.
    """
    config, secret = with_admin_password(stack_config("prod"))
    plan = load_project(ROOT, "prod", config, secret).plan
    counts: Counter[str] = Counter()
    for service in plan.services:
        counts["CREATE ROLE"] += 2
        counts["ALTER ROLE ... SET"] += 4
        counts["GRANT group TO login"] += 1
        counts["CREATE SCHEMA ... AUTHORIZATION"] += 1
        counts["ALTER TABLE ... ENABLE/FORCE RLS"] += 2 * len(service.row_security)
        counts["CREATE POLICY"] += len(service.policies)
        counts["GRANT (schema USAGE, column SELECT/REFERENCES)"] += len(service.grants)
        counts["ALTER DEFAULT PRIVILEGES ... REVOKE ... FROM PUBLIC"] += len(
            service.default_privileges
        )
    return dict(counts)


# -- reporting --------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


COLUMNS = [
    "registered",
    "sql_resources",
    "replay_statements",
    "round_trips",
    "statements",
    "transactions",
    "connections",
]


def diff(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: b[k] - a[k] for k in COLUMNS}


def per_resource_excerpt(cost: DeployCost, service: str) -> dict[str, list[str]]:
    """Every statement the server saw for one service's resources, passwords redacted."""
    return {
        f"{r.name} ({SHORT_TYPES[r.type]})": [_one_line(s) for s in r.traffic.safe_sql()]
        for r in cost.applied
        if r.name.startswith(f"{service}-") or r.name.startswith(f"{service}_")
    }


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", type=int, default=15, help="PostgreSQL major (15 or 16)")
    parser.add_argument(
        "--rtt-ms", type=float, default=20.0, help="round-trip time for the latency estimate"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="edulink-deploy-cost-"))
    results: dict[str, Any] = {"pg": args.pg, "rtt_ms": args.rtt_ms}
    results["loadavg_before"] = os.getloadavg()
    try:
        recordings = {
            "prod (6 services, real catalogue)": recorded("prod"),
            "generated 6 services": record_generated(work / "g6", 6),
            "generated 7 services": record_generated(work / "g7", 7),
            "generated 7 + 1 read (known producer)": record_generated(work / "g7r", 7, [(6, 5)]),
            "generated 7 + 1 read (new producer)": record_generated(work / "g7n", 7, [(6, 3)]),
        }
        with start_cluster(args.pg, work / "pg") as cluster:
            log_path = enable_statement_log(cluster)
            costs = {
                label: measure(cluster, log_path, rec, label) for label, rec in recordings.items()
            }
            # Cross-check: the plain deploy() of the test suite logs the same statements.
            plain = deploy(cluster, recordings["prod (6 services, real catalogue)"])
            seed = run_seed(cluster, log_path)
            with psycopg.connect(cluster.superuser_dsn()) as conn:
                results["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    prod = costs["prod (6 services, real catalogue)"]
    assert len(plain.log.statements) == prod.totals()["replay_statements"], "replay mismatch"
    totals = {label: cost.totals() for label, cost in costs.items()}
    g6, g7 = totals["generated 6 services"], totals["generated 7 services"]
    read_known = diff(g7, totals["generated 7 + 1 read (known producer)"])
    read_new = diff(g7, totals["generated 7 + 1 read (new producer)"])
    per_service = diff(g6, g7)
    results.update(
        {
            "totals": totals,
            "seconds": {label: round(cost.seconds, 3) for label, cost in costs.items()},
            "prod_by_type": prod.by_type(),
            "marginal": {
                "service (with its 2 reads)": per_service,
                "read of a table of a producer already read": read_known,
                "read of a new producer": read_new,
            },
            "prod_user_service_statements": per_resource_excerpt(prod, "user"),
            "prod_auth_statements": per_resource_excerpt(prod, "auth"),
            "seed": {
                "statements_by_kind": dict(seed.statements_by_kind),
                "statements": sum(seed.statements_by_kind.values()),
                "round_trips": seed.platform.round_trips,
                "transactions": seed.platform.transactions,
                "connections": seed.platform.connections,
                "ddl_round_trips": seed.ddl.round_trips,
                "seconds": round(seed.seconds, 3),
            },
            "minimum_correct": minimum_correct_statements(),
            "prod_migrations_round_trips": sum(
                r.traffic.round_trips for r in prod.applied if "Migrations" in r.type
            ),
        }
    )
    results["loadavg_after"] = os.getloadavg()
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    report(results, costs)


def report(results: dict[str, Any], costs: dict[str, DeployCost]) -> None:
    print(f"PostgreSQL {results['server_version']}\n")
    print("Totals per deploy (a fresh database, resources applied one at a time)\n")
    rows = [[label, *(t[c] for c in COLUMNS)] for label, t in results["totals"].items()]
    print(table(["deploy", *COLUMNS], rows))
    print("\nMarginal cost\n")
    rows = [[label, *(d[c] for c in COLUMNS)] for label, d in results["marginal"].items()]
    print(table(["added", *COLUMNS], rows))
    print("\nprod, by resource type\n")
    prod_types = results["prod_by_type"]
    keys = [
        "resources",
        "replay_statements",
        "round_trips",
        "statements",
        "transactions",
        "connections",
    ]
    print(table(["type", *keys], [[k, *(v[c] for c in keys)] for k, v in prod_types.items()]))
    seed = results["seed"]
    print("\nseed.sql (original design)\n")
    print(table(["kind", "statements"], [[k, v] for k, v in seed["statements_by_kind"].items()]))
    print(
        f"\nseed: {seed['statements']} statements, {seed['round_trips']} round trips, "
        f"{seed['transactions']} transactions, {seed['connections']} connection(s), "
        f"+{seed['ddl_round_trips']} DDL round trips (migration files), {seed['seconds']} s"
    )
    minimum = results["minimum_correct"]
    print("\nA correct hand-written script (defects 1-8 fixed), from the prod plan\n")
    print(table(["kind", "statements"], [[k, v] for k, v in minimum.items()]))
    print(f"\ntotal: {sum(minimum.values())} statements (one transaction possible)")
    prod = results["totals"]["prod (6 services, real catalogue)"]
    rtt = results["rtt_ms"] / 1000
    connect_trips = 3  # startup, SCRAM continue, SCRAM final (sslmode=disable)
    prod_trips = prod["round_trips"] + connect_trips * prod["connections"]
    seed_trips = seed["round_trips"] + seed["ddl_round_trips"] + connect_trips * seed["connections"]
    print(
        f"\nAt {results['rtt_ms']:.0f} ms per round trip (TLS not counted), sequentially:"
        f" prod deploy {prod_trips} round trips ≈ {prod_trips * rtt:.1f} s;"
        f" seed.sql {seed_trips} ≈ {seed_trips * rtt:.1f} s"
    )
    print(
        "\nReplay wall time on loopback: "
        + ", ".join(f"{label}: {cost.seconds:.2f} s" for label, cost in costs.items())
    )
    slowest = sorted(costs["prod (6 services, real catalogue)"].applied, key=lambda r: -r.seconds)
    print(
        "median seconds per prod resource: "
        f"{statistics.median(r.seconds for r in slowest):.4f}; slowest: "
        + ", ".join(f"{r.name} {r.seconds:.3f}" for r in slowest[:3])
    )
    print("\nStatements the server saw for the user service (passwords redacted):\n")
    for name, statements in results["prod_user_service_statements"].items():
        print(f"- {name}: {len(statements)}")
        for statement in statements:
            print(f"    {statement}")


if __name__ == "__main__":
    main()
