"""Benchmark: how evaluating the real Pulumi program grows with the number of services.

Run:  cd /work/main && .venv/bin/python benchmarks/program_scale/run.py [--full]
      [--profile hub|chain]

Each measurement runs in a fresh child process (the Pulumi mocks and the SDK keep global
state): the child loads the project (`load_project`: catalogue, migrations, plan), then runs
the real `__main__.py` under the test suite's mock harness (`tests/support/program.py`) and
reports wall times, resources registered and its peak RSS (ru_maxrss).

Projects: the repository's own six services (prod stack), and generated catalogues of 50,
200 and 1000 services, 10 tables and 2 cross reads each (generate.py), in two read graphs:
`hub` (every service reads two of 5 core services) and `chain` (service k reads k-1 and k-2,
so the dependency graph is as deep as the catalogue is long).

Variants, applied by monkeypatching inside the child only (no project file is changed):
* `program`   the program through the harness as it is (its duplicate-URN check is a set
              lookup since hot spot 1 was fixed in tests/support/program.py), with the GC
              threshold `__main__.py` sets (hot spot 2)
* `+default-gc`  the `program` variant with `__main__.py`'s `gc.set_threshold` call made a
              no-op: Python's default thresholds, as the program ran before hot spot 2's fix
* `+no-gc`, `+no-cycle-check`  the `program` variant, plus the cyclic GC disabled, or the
              Pulumi SDK's cycle check (`resource_cycle_breaker.declare_dependency`) skipped
              — diagnostics that attribute the super-linear part; not proposals to ship

Default run: about 5 minutes on 2 cores, results.json. `--full` runs only the slow
1000-service diagnostics instead (the `program` variants at hub/1000,
about 6 minutes), results-full.json. `--profile hub|chain` prints cProfile's top
functions for that graph at 200 services.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# The harness's duplicate-URN check is a set lookup now (hot spot 1, fixed in
# tests/support/program.py), so the program is measured through the harness as it is.
VARIANTS: dict[str, list[str]] = {
    "program": [],
    "program+no-gc": ["no-gc"],
    "program+default-gc": ["default-gc"],
    "program+no-cycle-check": ["no-cycle-check"],
    "program+no-gc+no-cycle-check": ["no-gc", "no-cycle-check"],
}


# -- child ------------------------------------------------------------------------------------


def _patch(flags: list[str]) -> None:
    import gc

    if "no-gc" in flags:
        gc.disable()
    if "default-gc" in flags:  # keep Python's thresholds: __main__.py's call does nothing
        gc.set_threshold = lambda *_: None
    if "no-cycle-check" in flags:
        from pulumi.runtime import resource_cycle_breaker, rpc

        def declare_dependency(from_resource: Any, to_resource: Any) -> bool:
            resource_cycle_breaker._add_dep(from_resource, to_resource)
            return True

        rpc.declare_dependency = declare_dependency  # rpc imported the name itself


def child(project: Path, stack: str, flags: list[str], profile: bool) -> None:
    import resource

    sys.path.insert(0, str(ROOT))
    from edulink_db.project import load_project
    from tests.support.program import run_program, stack_config, with_admin_password

    _patch(flags)
    config, secret = with_admin_password(stack_config(stack, root=project))
    started = time.perf_counter()
    load_project(project, stack, config, secret)
    load_seconds = time.perf_counter() - started
    result: dict[str, Any] = {"load_seconds": load_seconds}
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    try:
        recording = run_program(stack, config, secret, program=project / "__main__.py")
        result["resources"] = len(recording.resources)
        result["by_type"] = dict(Counter(r.type for r in recording.resources))
    except BaseException as error:  # report a crash as a result (e.g. RecursionError)
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    result["run_seconds"] = time.perf_counter() - started
    result["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(18)
            print(out.getvalue(), file=sys.stderr)
    print(json.dumps(result))


# -- parent -----------------------------------------------------------------------------------


def measure(project: Path, stack: str, variant: str, profile: bool = False) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", str(project), stack, ",".join(VARIANTS[variant])]
    if profile:
        argv.append("--child-profile")
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    if profile:
        print(done.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        return {"error": f"child exited with {done.returncode}: {tail}"}
    return dict(json.loads(lines[-1]))


def fit_exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(y) over log(x): y ~ x**k."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den


def machine() -> dict[str, str]:
    def run(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    return {
        "nproc": run(["nproc"]),
        "lscpu": "\n".join(run(["lscpu"]).splitlines()[:10]),
        "memory": run(["free", "-h"]).splitlines()[1] if run(["free", "-h"]) else "?",
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the slow 1000-service variants")
    parser.add_argument("--profile", choices=("hub", "chain"), help="cProfile <graph>/200")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the small projects")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import generate

    work = Path(tempfile.mkdtemp(prefix="edulink-program-scale-"))
    projects: dict[tuple[str, int], Path] = {}
    for topology in generate.TOPOLOGIES:
        for size in (50, 200, 1000):
            projects[(topology, size)] = generate.write_project(
                work / f"{topology}{size}", size, topology=topology
            )

    plan: list[tuple[str, int, str, int]] = [("real", 6, "program", args.repeat)]
    for topology in generate.TOPOLOGIES:
        for size in (50, 200, 1000):
            plan.append((topology, size, "program", args.repeat if size <= 50 else 1))
    plan += [("hub", 200, v, 1) for v in VARIANTS if v.startswith("program+")]
    plan += [("chain", 200, v, 1) for v in ("program+default-gc", "program+no-cycle-check")]
    if args.full:  # only the slow diagnostics at 1000 services
        plan = [("hub", 1000, "program", 1)]
        plan += [("hub", 1000, v, 1) for v in VARIANTS if v.startswith("program+")]

    if args.profile:
        measure(projects[(args.profile, 200)], generate.STACK, "program", profile=True)
        shutil.rmtree(work, ignore_errors=True)
        return

    loadavg_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    try:
        for topology, size, variant, repeat in plan:
            project, stack = (
                (ROOT, "prod")
                if topology == "real"
                else (projects[(topology, size)], generate.STACK)
            )
            runs = [measure(project, stack, variant) for _ in range(repeat)]
            ok = [r for r in runs if "error" not in r]
            best = sorted(ok, key=lambda r: r["run_seconds"])[len(ok) // 2] if ok else runs[0]
            row = {
                "topology": topology,
                "services": size,
                "variant": variant,
                "runs": repeat,
                **best,
            }
            row["reads"] = 9 if topology == "real" else generate.read_count(size, topology=topology)
            rows.append(row)
            status = best.get("error") or f"{best['run_seconds']:.2f} s"
            print(f"{topology:>5} {size:>5} {variant:<30} {status}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    exponents = {}
    for topology in generate.TOPOLOGIES:
        for variant in VARIANTS:
            points = [
                (r["services"], r["run_seconds"])
                for r in rows
                if r["topology"] == topology and r["variant"] == variant and "error" not in r
            ]
            if len(points) >= 2:
                exponents[f"{topology} {variant}"] = {
                    "points": points,
                    "exponent": round(fit_exponent(points) or 0, 2),
                }
            load = [
                (r["services"], r["load_seconds"])
                for r in rows
                if r["topology"] == topology and r["variant"] == variant and "load_seconds" in r
            ]
            if len(load) >= 2 and variant == "program":
                exponents[f"{topology} load_project"] = {
                    "points": load,
                    "exponent": round(fit_exponent(load) or 0, 2),
                }
    results = {
        "machine": machine(),
        "rows": rows,
        "exponents": exponents,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "loadavg_before": loadavg_before,
        "loadavg_after": os.getloadavg(),
    }
    name = "results-full.json" if args.full else "results.json"
    (HERE / name).write_text(json.dumps(results, indent=2) + "\n")
    report(results)


def report(results: dict[str, Any]) -> None:
    print(f"\nload average before/after: {results['loadavg_before']} / {results['loadavg_after']}")
    print(
        "\n| graph | services | reads | variant | resources | per service | load_project (s) |"
        " program run (s) | peak RSS (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results["rows"]:
        if "error" in r:
            print(
                f"| {r['topology']} | {r['services']} | {r['reads']} | {r['variant']} | — | — |"
                f" {r.get('load_seconds', 0):.2f} |"
                f" {r['error']} after {r.get('run_seconds', 0):.0f} s |"
                f" {r.get('max_rss_mib', 0):.0f} |"
            )
            continue
        print(
            f"| {r['topology']} | {r['services']} | {r['reads']} | {r['variant']} |"
            f" {r['resources']} | {r['resources'] / r['services']:.1f} | {r['load_seconds']:.2f} |"
            f" {r['run_seconds']:.2f} | {r['max_rss_mib']:.0f} |"
        )
    print("\nGrowth exponents (least squares on log-log; 1.0 is linear):")
    for name, fit in results["exponents"].items():
        print(f"- {name}: {fit['exponent']}  {fit['points']}")
    biggest = max(
        (r for r in results["rows"] if "by_type" in r and r["topology"] == "hub"),
        key=lambda r: r["services"],
        default=None,
    )
    if biggest:
        print(f"\nResources per service by type (hub, {biggest['services']} services):")
        for kind, count in sorted(biggest["by_type"].items(), key=lambda kv: -kv[1]):
            print(f"- {kind}: {count / biggest['services']:.2f}")


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--child":
        child(
            Path(sys.argv[2]),
            sys.argv[3],
            [f for f in sys.argv[4].split(",") if f],
            "--child-profile" in sys.argv,
        )
    else:
        os.environ.setdefault("PYTHONHASHSEED", "0")
        main()
