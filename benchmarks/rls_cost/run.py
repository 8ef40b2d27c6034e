"""Benchmark: what the generated row-level security costs a query, on 1,000,000 rows.

Run:  cd /work/main && .venv/bin/python benchmarks/rls_cost/run.py [--pg 15|16] [--rows N]

The prod program is replayed onto a cluster started here (shared_buffers raised to 512MB so
the table stays cached), and `user_schema.preferences` — the table with the catalogue's
restrictive policy `preferences_acting_profile` besides the owner policy — is filled with
N rows (FK checks skipped while loading: session_replication_role = replica). Then, as the
user service's login role (which acts as `user_service_role`), three queries:

* lookup  `SELECT * ... WHERE profile_id = $1`                 (unique index, 1 row)
* range   `SELECT * ... WHERE id >= $1 AND id < $2`            (primary key, 1% of the rows)
* count   `SELECT count(*) ...`                                (every row)

in two contexts — service-wide (no `edulink.acting_profile_id`: the policy admits every row)
and acting for one profile (`SET edulink.acting_profile_id`: the policy admits that profile's
row only) — and under four policies:

* off        RLS disabled by the superuser (NO FORCE + DISABLE) for the run
* naive      `coalesce(current_setting(...), '') = '' OR profile_id = current_setting(...)::uuid`
             with bare calls, as a user would write it
* previous   the same with each call wrapped as `(SELECT ...)`: what the platform installed
             before the catalogue's policy was rewritten with one sub-select
* generated  the policy as the platform installs it now (read back from pg_policies)

Each query is timed (client wall time, rows fetched) `--repeat` times after a warm-up; the
report gives medians and factors against `off`, plus EXPLAIN (ANALYZE, BUFFERS) of each.
Results go to results.json beside this file.
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from tests.support.cluster import Cluster, start_cluster  # noqa: E402
from tests.support.deploy import Deployment, deploy  # noqa: E402
from tests.support.program import recorded  # noqa: E402

TABLE = sql.Identifier("user_schema", "preferences")
POLICY = "preferences_acting_profile"
SETTING = "edulink.acting_profile_id"
NAIVE = (
    "coalesce(current_setting('edulink.acting_profile_id', true), '') = ''"
    " OR profile_id = current_setting('edulink.acting_profile_id', true)::uuid"
)
QUERIES = {
    "lookup": "SELECT * FROM user_schema.preferences WHERE profile_id = %(profile)s",
    "range 1%": "SELECT * FROM user_schema.preferences WHERE id >= %(lo)s AND id < %(hi)s",
    "count": "SELECT count(*) FROM user_schema.preferences",
}
# The catalogue's earlier form, as the platform rendered it: two sub-selects, a per-row cast.
PREVIOUS = (
    "(COALESCE((SELECT current_setting('edulink.acting_profile_id', true)), '') = '')"
    " OR (profile_id = ((SELECT current_setting('edulink.acting_profile_id', true)))::uuid)"
)
MODES = ("off", "naive", "previous", "generated")
CONTEXTS = ("service-wide", "acting profile")


def restart_with_more_memory(cluster: Cluster) -> None:
    """shared_buffers needs a restart; the test cluster's 16MB would measure the OS cache."""
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '512MB'")
        conn.execute("ALTER SYSTEM SET log_min_messages = 'warning'")
    cluster.restart()


def load_rows(deployment: Deployment, rows: int) -> dict[str, Any]:
    """Fill the table; return a profile id that exists and the bounds of a 1% id range."""
    with deployment.superuser() as su:
        su.execute("SET session_replication_role = replica")  # skip the FK to user_profiles
        su.execute(
            sql.SQL(
                "INSERT INTO {} (profile_id, language, theme) SELECT gen_random_uuid(),"
                " (ARRAY['en', 'fr', 'de', 'sw'])[1 + i % 4],"
                " (ARRAY['light', 'dark', 'system'])[1 + i % 3]"
                " FROM generate_series(1, {}) AS i"
            ).format(TABLE, sql.Literal(rows))
        )
        su.execute("RESET session_replication_role")
        su.execute(sql.SQL("VACUUM (ANALYZE) {}").format(TABLE))
        profile = su.execute(
            sql.SQL("SELECT profile_id FROM {} OFFSET %s LIMIT 1").format(TABLE), [rows // 3]
        ).fetchone()
        lo = su.execute(
            sql.SQL("SELECT id FROM {} ORDER BY id OFFSET %s LIMIT 1").format(TABLE),
            [int(rows * 0.495)],
        ).fetchone()
        hi = su.execute(
            sql.SQL("SELECT id FROM {} ORDER BY id OFFSET %s LIMIT 1").format(TABLE),
            [int(rows * 0.505)],
        ).fetchone()
        size = su.execute(
            sql.SQL("SELECT pg_size_pretty(pg_total_relation_size({}))").format(
                sql.Literal("user_schema.preferences")
            )
        ).fetchone()
    assert profile and lo and hi and size
    return {"profile": profile[0], "lo": lo[0], "hi": hi[0], "size": size[0]}


def policy_expression(deployment: Deployment) -> tuple[str, str]:
    with deployment.superuser() as su:
        row = su.execute(
            "SELECT qual, with_check FROM pg_policies"
            " WHERE schemaname = 'user_schema' AND tablename = 'preferences' AND policyname = %s",
            [POLICY],
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def set_rls(deployment: Deployment, enabled: bool) -> None:
    """RLS on and forced, as the platform leaves the table, or off for a baseline."""
    clauses = ("ENABLE", "FORCE") if enabled else ("NO FORCE", "DISABLE")
    with deployment.superuser() as su:
        for clause in clauses:
            su.execute(sql.SQL(f"ALTER TABLE {{}} {clause} ROW LEVEL SECURITY").format(TABLE))


def set_mode(deployment: Deployment, mode: str, generated: tuple[str, str]) -> None:
    set_rls(deployment, mode != "off")
    if mode == "off":
        return
    with deployment.superuser() as su:
        using, check = {"naive": (NAIVE, NAIVE), "previous": (PREVIOUS, PREVIOUS)}.get(
            mode, generated
        )
        # Trusted text: the constant above, or what pg_get_expr rendered of the live policy.
        su.execute(
            sql.SQL("ALTER POLICY {} ON {} USING ({}) WITH CHECK ({})").format(
                sql.Identifier(POLICY),
                TABLE,
                sql.SQL(using),
                sql.SQL(check),  # type: ignore[arg-type]
            )
        )


def timed(conn: psycopg.Connection[Any], query: str, params: dict[str, Any], n: int) -> list[float]:
    for _ in range(max(2, n // 10)):  # warm-up: caches, plans of the catalog lookups
        conn.execute(query, params).fetchall()  # type: ignore[call-overload]
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        conn.execute(query, params).fetchall()  # type: ignore[call-overload]
        samples.append(time.perf_counter() - start)
    return samples


def server_timed(
    conn: psycopg.Connection[Any], query: str, params: dict[str, Any], n: int
) -> list[float]:
    """Planning + execution time as the server reports it (EXPLAIN ANALYZE, no per-node
    timing), in seconds: the query's cost without the client and the wire."""
    samples = []
    for _ in range(n):
        rows = conn.execute(
            "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) " + query,  # type: ignore[operator]
            params,
        ).fetchall()
        text = "\n".join(str(r[0]) for r in rows)
        planning = re.search(r"Planning Time: ([\d.]+) ms", text)
        execution = re.search(r"Execution Time: ([\d.]+) ms", text)
        assert planning and execution
        samples.append((float(planning[1]) + float(execution[1])) / 1000)
    return samples


def explain(conn: psycopg.Connection[Any], query: str, params: dict[str, Any]) -> str:
    rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params).fetchall()  # type: ignore[call-overload,operator]
    return "\n".join(str(r[0]) for r in rows)


def after_set_local(deployment: Deployment, data: dict[str, Any]) -> dict[str, str]:
    """Service-wide queries on a session that acted for a profile earlier (what a pooled
    connection sees): the setting is now '' rather than NULL."""
    outcomes = {}
    with deployment.login("user") as login:
        with login.transaction():
            login.execute("SELECT set_config(%s, %s, true)", [SETTING, str(data["profile"])])
        setting = login.execute("SELECT current_setting(%s, true)", [SETTING]).fetchone()
        assert setting == ("",)
        for name, query in QUERIES.items():
            try:
                rows = login.execute(query, data).fetchall()  # type: ignore[call-overload]
                outcomes[name] = f"ok, {len(rows)} row(s)"
            except psycopg.Error as error:
                outcomes[name] = f"ERROR {error.sqlstate}: {error.diag.message_primary}"
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", type=int, default=15)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=0, help="override the samples per query")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all modes")
    args = parser.parse_args()
    # Samples per query, mode and context, spread over the rounds.
    repeats = {"lookup": 5000, "range 1%": 50, "count": 15}
    if args.repeat:
        repeats = dict.fromkeys(repeats, args.repeat)

    base = Path(tempfile.mkdtemp(prefix="edulink-rls-cost-"))
    results: dict[str, Any] = {"rows": args.rows, "repeats": repeats, "rounds": args.rounds}
    results["loadavg_before"] = os.getloadavg()
    try:
        with start_cluster(args.pg, base) as cluster:
            restart_with_more_memory(cluster)
            deployment = deploy(cluster, recorded("prod"))
            started = time.perf_counter()
            data = load_rows(deployment, args.rows)
            results["load_seconds"] = round(time.perf_counter() - started, 1)
            results["table_size"] = data.pop("size")
            generated = policy_expression(deployment)
            results["policies"] = {
                "generated": generated[0],
                "naive": NAIVE,
                "previous": PREVIOUS,
            }
            with deployment.superuser() as su:
                for setting in ("server_version", "shared_buffers"):
                    row = su.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting)))
                    results[setting] = str(row.fetchone()[0])  # type: ignore[index]
            with deployment.login("user") as login:
                who = login.execute("SELECT current_user, session_user").fetchone()
            results["runs_as"] = list(who or ())
            measure(deployment, data, generated, repeats, args.rounds, results)
            set_mode(deployment, "generated", generated)  # leave it as the platform made it
    finally:
        shutil.rmtree(base, ignore_errors=True)
    results["loadavg_after"] = os.getloadavg()
    (HERE / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    report(results)


def measure(
    deployment: Deployment,
    data: dict[str, Any],
    generated: tuple[str, str],
    repeats: dict[str, int],
    rounds: int,
    results: dict[str, Any],
) -> None:
    samples: dict[str, list[float]] = {}
    server: dict[str, list[float]] = {}
    rows_returned: dict[str, int] = {}
    plans: dict[str, str] = {}
    after: dict[str, dict[str, str]] = {}
    # Rounds over every mode, so that drift (caches, other load) spreads over all of them.
    for round_ in range(rounds):
        for mode in MODES:
            set_mode(deployment, mode, generated)
            for context in CONTEXTS:
                # A fresh session per context: once set, a custom setting never goes back to
                # NULL in a session, only to '' (see after_set_local).
                with deployment.login("user") as login:
                    if context == "acting profile":
                        login.execute(
                            "SELECT set_config(%s, %s, false)", [SETTING, str(data["profile"])]
                        )
                    for name, query in QUERIES.items():
                        key = f"{context} | {name} | {mode}"
                        n = max(1, repeats[name] // rounds)
                        samples.setdefault(key, []).extend(timed(login, query, data, n))
                        server.setdefault(key, []).extend(
                            server_timed(login, query, data, max(1, n // 10))
                        )
                        if round_ == 0:
                            rows = login.execute(query, data).fetchall()  # type: ignore[call-overload]
                            rows_returned[key] = rows[0][0] if name == "count" else len(rows)
                            plans[key] = explain(login, query, data)
            if round_ == 0:
                after[mode] = after_set_local(deployment, data)
    results["samples"] = {k: len(v) for k, v in samples.items()}
    results["medians_ms"] = {k: round(statistics.median(v) * 1000, 4) for k, v in samples.items()}
    results["server_medians_ms"] = {
        k: round(statistics.median(v) * 1000, 4) for k, v in server.items()
    }
    results["rows_returned"] = rows_returned
    results["after_set_local"] = after
    results["plans"] = plans


def report(results: dict[str, Any]) -> None:
    medians = results["medians_ms"]
    print(
        f"PostgreSQL {results['server_version']}, shared_buffers {results['shared_buffers']}, "
        f"{results['rows']} rows ({results['table_size']}), as {results['runs_as']}\n"
    )
    print(
        "| context | query | rows | off (ms) | naive (ms) | previous (ms) | generated (ms) |"
        " naive / off | previous / off | generated / off | naive / generated |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for context in CONTEXTS:
        for name in QUERIES:
            off, naive, previous, gen = (medians[f"{context} | {name} | {m}"] for m in MODES)
            rows = results["rows_returned"][f"{context} | {name} | generated"]
            print(
                f"| {context} | {name} | {rows} | {off:.3f} | {naive:.3f} | {previous:.3f} |"
                f" {gen:.3f} | {naive / off:.2f}x | {previous / off:.2f}x | {gen / off:.2f}x |"
                f" {naive / gen:.2f}x |"
            )
    print("\nServer-side planning + execution (EXPLAIN ANALYZE, TIMING OFF), medians in ms:\n")
    server = results["server_medians_ms"]
    print("| context | query | off | naive | previous | generated | generated / off |")
    print("|---|---|---|---|---|---|---|")
    for context in CONTEXTS:
        for name in QUERIES:
            cells = [server[f"{context} | {name} | {m}"] for m in MODES]
            print(
                f"| {context} | {name} | "
                + " | ".join(f"{c:.3f}" for c in cells)
                + f" | {cells[3] / cells[0]:.2f}x |"
            )
    print("\nService-wide queries after a transaction-local SET ended on the same session:")
    for mode, outcomes in results["after_set_local"].items():
        print(f"- {mode}: " + "; ".join(f"{q}: {o}" for q, o in outcomes.items()))
    print("\nEXPLAIN (ANALYZE, BUFFERS):")
    for key, plan in results["plans"].items():
        print(f"\n-- {key}\n{plan}")


if __name__ == "__main__":
    main()
