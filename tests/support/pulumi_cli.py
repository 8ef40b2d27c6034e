"""The real Pulumi CLI, language host and postgresql provider, run on a copy of the project.

`tools/pulumi/build` makes the binaries (a cache hit after the first build); this module lays
out a workspace as a platform engineer's checkout would be — the project's files, the stack
file pointing at a test cluster, the project's virtualenv — with a file backend, passphrase
secrets and every plugin found offline, and runs `pulumi` commands in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.support.cluster import ADMIN_PASSWORD, Cluster

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "catalogue.yaml", "migrations", "legacy")
PASSPHRASE = "edulink-test-passphrase"
TIMEOUT_S = 900


class PulumiFailed(AssertionError):
    def __init__(self, argv: list[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(
            f"pulumi {' '.join(argv)} exited {result.returncode}\n"
            f"--- errors ---\n{_errors(result.stdout)}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
        self.result = result


def _errors(stdout: str) -> str:
    """The error diagnostics of a JSON event stream (or the text, when it is not one)."""
    messages = []
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return stdout[-6000:]
        diagnostic = event.get("diagnosticEvent") if isinstance(event, dict) else None
        if diagnostic and diagnostic.get("severity") == "error":
            messages.append(f"{diagnostic.get('urn', '')}: {diagnostic['message'].strip()}")
    return "\n".join(messages)[-6000:]


@cache
def tools_bin() -> Path:
    """The bin folder with pulumi and its plugins (built on first use, cached after)."""
    override = os.environ.get("EDULINK_PULUMI_BIN")
    if override:
        return Path(override)
    result = subprocess.run(
        [str(ROOT / "tools" / "pulumi" / "build")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"tools/pulumi/build failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass
class Workspace:
    """One stack of a copy of the project, deployed by the real engine."""

    folder: Path
    stack: str
    cluster: Cluster
    database: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.folder.parent / "state"

    def pulumi(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(tools_bin() / "pulumi"), *argv],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        if check and result.returncode != 0:
            raise PulumiFailed(list(argv), result)
        return result

    def preview(self, *extra: str) -> dict[str, Any]:
        """`pulumi preview --json`: the steps the engine plans (op, urn) and its summary."""
        result = self.pulumi("preview", "--json", "--diff", "--stack", self.stack, *extra)
        preview: dict[str, Any] = json.loads(result.stdout)
        return preview

    def up(self, *extra: str) -> dict[str, Any]:
        """`pulumi up --json`: what it did, read from the engine's events."""
        return self._apply("up", *extra)

    def refresh(self) -> dict[str, Any]:
        return self._apply("refresh")

    def destroy(self) -> dict[str, Any]:
        return self._apply("destroy")

    def _apply(self, command: str, *extra: str) -> dict[str, Any]:
        result = self.pulumi(
            command, "--yes", "--skip-preview", "--json", "--stack", self.stack, *extra
        )
        return from_events(result.stdout)

    def outputs(self) -> dict[str, Any]:
        result = self.pulumi("stack", "output", "--json", "--show-secrets", "--stack", self.stack)
        values: dict[str, Any] = json.loads(result.stdout)
        return values

    def passwords(self) -> dict[str, str]:
        return {service: str(values["password"]) for service, values in self.outputs().items()}

    def checkpoint_text(self) -> str:
        return "\n".join(p.read_text() for p in self.state_dir.rglob("*.json"))


def from_events(stdout: str) -> dict[str, Any]:
    """An update's JSON event stream (one event a line) in the shape of a preview's JSON:
    the steps it finished (op, urn) and the engine's summary of changes."""
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    steps = [
        {
            "op": e["resOutputsEvent"]["metadata"]["op"],
            "urn": e["resOutputsEvent"]["metadata"]["urn"],
        }
        for e in events
        if "resOutputsEvent" in e
    ]
    [done] = [e["summaryEvent"] for e in events if "summaryEvent" in e]
    return {"steps": steps, "changeSummary": done.get("resourceChanges") or {}}


def changes(steps: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(op, URN) of every step that changes something."""
    return sorted((s["op"], s["urn"]) for s in steps if s["op"] not in ("same", "read"))


def summary(outcome: dict[str, Any]) -> Counter[str]:
    counts = Counter({k: int(v) for k, v in (outcome.get("changeSummary") or {}).items()})
    counts.pop("same", None)
    return counts


def workspace(
    tmp: Path,
    stack: str,
    cluster: Cluster,
    database: str,
    config: dict[str, Any],
    project: Path = ROOT,
) -> Workspace:
    """Copy the project (this checkout, or a generated one beside the real program), write
    the stack file pointing at `database`, log in to a file backend and create the stack
    with the admin password set as a secret."""
    folder = tmp / "project"
    folder.mkdir(parents=True)
    for item in PROJECT_FILES:
        source = project / item if (project / item).exists() else ROOT / item
        if source.is_dir():
            shutil.copytree(source, folder / item)
        else:
            shutil.copy(source, folder / item)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    settings = {
        "edulink-db:target": {
            "host": cluster.host,
            "port": cluster.port,
            "database": database,
            "adminUser": "postgres",
            "sslmode": "require" if cluster.tls else "disable",
        },
        **config,
    }
    (folder / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": settings}))
    (tmp / "state").mkdir()
    (tmp / "home").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PG"))},
        "PATH": f"{tools_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
        # The project's packages from this checkout, whichever one the virtualenv was made in.
        "PYTHONPATH": str(ROOT),
        "PULUMI_HOME": str(tmp / "home"),
        "PULUMI_BACKEND_URL": f"file://{tmp / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
    }
    ws = Workspace(folder, stack, cluster, database, env)
    ws.pulumi("stack", "init", stack)
    ws.pulumi(
        "config", "set", "--secret", "--stack", stack, "edulink-db:adminPassword", ADMIN_PASSWORD
    )
    return ws
