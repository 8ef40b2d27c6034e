"""Benchmark: what a real deploy costs, with the real engine, language host and provider.

Run:  cd /work/main && .venv/bin/python benchmarks/real_deploy/run.py [--pg 15|17] [--services 6 50]

For prod (the real catalogue, 6 services) and generated catalogues of N services
(benchmarks/program_scale/generate.py, chain topology, a protected stack like prod), on a
fresh database of a PostgreSQL cluster started here, with the tools of tools/pulumi/build:

* `pulumi preview` of an empty stack, `pulumi up` from empty, a no-op `pulumi up`, and
  `pulumi destroy` (the stack made disposable first, so destroy runs whole): wall time, and
  the peak resident memory of the largest process of each command (the engine, the language
  host, the program or a provider: `getrusage(RUSAGE_CHILDREN).ru_maxrss`, which the kernel
  keeps per waited-for descendant);
* the floor: the same database objects made by the replay (tests/support/replay.py: the SQL
  the provider runs, one transaction per resource, in one process), with no engine.

Writes results.json beside this file and prints the Markdown table of README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE), str(ROOT / "benchmarks" / "program_scale")]

import generate  # noqa: E402
from deploy_profile import postmaster_pid, profiled  # noqa: E402

from tests.support.cluster import cluster_base_dir, open_cluster  # noqa: E402
from tests.support.deploy import admin_connection  # noqa: E402
from tests.support.program import run_program  # noqa: E402
from tests.support.pulumi_cli import Workspace, tools_bin, workspace  # noqa: E402
from tests.support.replay import replay  # noqa: E402

PROTECTED = {"edulink-db:disposable": False, "edulink-db:protected": True}


@dataclass(frozen=True)
class Engine:
    """How the engine runs: extra environment (`--engine-env`, e.g. GOGC or a PULUMI_ setting
    whose cost is weighed) and where its CPU profiles go (`--engine-profile`)."""

    env: dict[str, str] = field(default_factory=dict)
    profiles: Path | None = None

    def timed(self, ws: Workspace, step: str, *argv: str) -> dict[str, Any]:
        assert ws.cluster.data_dir is not None, "the benchmark starts its own cluster"
        command = [str(tools_bin() / "pulumi"), *argv, "--stack", ws.stack]
        profile = self.profiles / f"{ws.stack}-{step}" if self.profiles else None
        env = {**ws.env, **self.env}
        return profiled(command, ws.folder, env, postmaster_pid(ws.cluster.data_dir), profile)


def _measure(engine: Engine, cluster: Any, project: Path, stack: str, tmp: Path) -> dict[str, Any]:
    cluster.reset()
    database = cluster.create_database()
    ws = workspace(tmp, stack, cluster, database, PROTECTED, project)
    row: dict[str, Any] = {"preview": engine.timed(ws, "preview", "preview")}
    row["up"] = engine.timed(ws, "up", "up", "--yes", "--skip-preview")
    row["noop_preview"] = engine.timed(ws, "noop_preview", "preview")
    row["noop_up"] = engine.timed(ws, "noop_up", "up", "--yes")
    row["noop_up_skip_preview"] = engine.timed(
        ws, "noop_up_skip_preview", "up", "--yes", "--skip-preview"
    )
    ws.pulumi("config", "set", "--stack", stack, "edulink-db:protected", "false")
    ws.pulumi("config", "set", "--stack", stack, "edulink-db:disposable", "true")
    ws.pulumi("up", "--yes", "--skip-preview", "--stack", stack)  # lifts protect
    row["destroy"] = engine.timed(ws, "destroy", "destroy", "--yes", "--skip-preview")
    raw = json.loads(ws.pulumi("config", "--json", "--show-secrets", "--stack", stack).stdout)
    config = {
        k: v if isinstance(v, str) else json.dumps(v)
        for k, v in ((k, e["value"]) for k, e in raw.items())
    }
    cluster.reset()
    database = cluster.create_database()  # the floor's own database, named in the recording
    target = {**json.loads(config["edulink-db:target"]), "database": database}
    config["edulink-db:target"] = json.dumps(target)
    recording = run_program(stack, config, ["edulink-db:adminPassword"], ws.folder / "__main__.py")
    start = time.perf_counter()
    replay(recording, cluster.admin_dsn(database), admin_connection(cluster, database))
    row["floor"] = {"seconds": round(time.perf_counter() - start, 2)}
    row["resources"] = len(recording.resources)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", type=int, default=17)
    parser.add_argument("--services", type=int, nargs="*", default=[6, 50])
    parser.add_argument("--engine-profile", type=Path, help="folder for the engine's CPU profiles")
    parser.add_argument("--engine-env", nargs="*", default=[], help="KEY=VALUE for the engine")
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    engine = Engine(dict(e.split("=", 1) for e in args.engine_env), args.engine_profile)
    if engine.profiles:
        engine.profiles.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"pg": args.pg, "engine_env": engine.env, "rows": {}}
    with (
        cluster_base_dir(args.pg) as base,
        open_cluster(args.pg, base) as cluster,
        tempfile.TemporaryDirectory() as tmp,
    ):
        results["rows"]["prod (6 services)"] = _measure(
            engine, cluster, ROOT, "prod", Path(tmp) / "p"
        )
        for n in args.services:
            if n == 6:
                continue
            folder = generate.write_project(Path(tmp) / f"gen{n}", n)
            (folder / f"Pulumi.{generate.STACK}.yaml").unlink()
            results["rows"][f"generated ({n} services)"] = _measure(
                engine, cluster, folder, generate.STACK, Path(tmp) / f"w{n}"
            )
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"PostgreSQL {args.pg}\n")
    print(
        "| catalogue | resources | preview | up from empty | no-op up | destroy | floor (replay) | peak MiB (up) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, row in results["rows"].items():
        print(
            f"| {name} | {row['resources']} | {row['preview']['seconds']} s | {row['up']['seconds']} s"
            f" | {row['noop_up']['seconds']} s | {row['destroy']['seconds']} s"
            f" | {row['floor']['seconds']} s | {row['up']['peak_mib']} |"
        )


if __name__ == "__main__":
    main()
