"""Where a `pulumi` command's time goes: CPU per process kind, and the engine's own trace.

Two observers, neither inside our code:

* a sampler reads the CPU time (user + system) of every process below `pulumi` and of the
  test cluster's server processes every 50 ms, and keeps each process's last reading under
  its kind (the engine, the language host, the program, the postgresql provider, the dynamic
  provider host, the server). A process that lives less than 50 ms is missed: none does here.
* the engine's OpenTelemetry trace (`--otel-traces file://…`): every gRPC call it makes to
  the providers and every registration the program makes, with start and end. From it: the
  program's start-up before its first registration, the provider calls by provider and
  method, and how many registrations were in flight on average (what the dependency graph
  and the engine's parallelism allow).

Wall time against CPU time says whether the command waits (on the server, on round trips,
on the dependency graph) or computes, and which process computes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

SAMPLE_S = 0.05


def process_kind(proc: psutil.Process) -> str:
    """The part of a deploy a process plays, from its name and command line."""
    name = proc.name()
    cmdline = " ".join(proc.cmdline())
    if name == "pulumi":
        return "engine"
    if name.startswith("pulumi-language-"):
        return "language host"
    if name.startswith("pulumi-resource-postgresql"):
        return "postgresql provider"
    if "pulumi.dynamic" in cmdline or "pulumi-resource-pulumi-python" in cmdline:
        return "dynamic provider"
    if name.startswith("postgres"):
        return "server"
    if "python" in name:
        return "program"
    return name


@dataclass
class Sampler:
    """CPU seconds per process kind below `root` and below the server's postmaster."""

    root: int
    server: int
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        """The server ran before the command: count only what it spends from now on."""
        self._sample()
        self.baseline = {pid: s for pid, (kind, s) in self.cpu.items() if kind == "server"}

    def _sample(self) -> None:
        for top in (self.root, self.server):
            try:
                parent = psutil.Process(top)
                tree = [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in tree:
                try:
                    times = proc.cpu_times()
                    kind = self.cpu[proc.pid][0] if proc.pid in self.cpu else process_kind(proc)
                except psutil.Error:
                    continue
                self.cpu[proc.pid] = (kind, times.user + times.system)

    def run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(SAMPLE_S)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        totals: dict[str, float] = defaultdict(float)
        for pid, (kind, seconds) in self.cpu.items():
            totals[kind] += seconds - self.baseline.get(pid, 0.0)
        return {kind: round(seconds, 2) for kind, seconds in sorted(totals.items())}


Span = tuple[str, str, dict[str, Any], int, int]  # service, name, attributes, start, end ns


def read_spans(trace: Path) -> list[Span]:
    """The spans of an OpenTelemetry JSON file (one export request a line)."""
    spans: list[Span] = []
    for line in trace.read_text().splitlines():
        for group in json.loads(line)["resourceSpans"]:
            service = next(
                a["value"]["stringValue"]
                for a in group["resource"]["attributes"]
                if a["key"] == "service.name"
            )
            for scope in group["scopeSpans"]:
                for span in scope["spans"]:
                    attributes = {a["key"]: a["value"] for a in span.get("attributes", [])}
                    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
                    spans.append((service, span["name"], attributes, start, end))
    return spans


def _provider_of_peers(spans: list[Span]) -> dict[str, str]:
    """Which engine-side peer is the postgresql provider: the one whose calls match, method
    by method, the calls the provider itself traced. The other is the dynamic-provider host,
    which (Python) traces nothing of its own."""
    served = Counter(
        name.rsplit("/", 1)[-1]
        for svc, name, _, _, _ in spans
        if svc == "postgresql" and "ResourceProvider/" in name
    )
    calls: dict[str, Counter[str]] = defaultdict(Counter)
    for svc, name, attributes, _, _ in spans:
        if svc == "pulumi-cli" and name.startswith("pulumirpc.ResourceProvider/"):
            calls[attributes["net.peer.name"]["stringValue"]][name.rsplit("/", 1)[-1]] += 1
    ranked = sorted(
        calls, key=lambda peer: sum(((calls[peer] - served) + (served - calls[peer])).values())
    )
    return {peer: "postgresql" if i == 0 else "dynamic" for i, peer in enumerate(ranked)}


def _program(spans: list[Span]) -> dict[str, Any]:
    """Each run of the program (`up` with its preview runs it twice; `destroy` not at all):
    its time, its start-up before its first registration, and the registrations in flight on
    average after that (what the dependency graph and the engine's parallelism allow)."""
    runs = sorted(
        (s, e) for svc, name, _, s, e in spans if svc == "pulumi-cli" and name == "run-program"
    )
    registrations = [
        (s, e)
        for svc, name, _, s, e in spans
        if svc == "pulumi-cli" and name == "pulumirpc.ResourceMonitor/RegisterResource"
    ]
    described = []
    for start, end in runs:
        inside = [(s, e) for s, e in registrations if start <= s <= end]
        if not inside:
            continue
        first = min(s for s, _ in inside)
        described.append(
            {
                "seconds": round((end - start) / 1e9, 2),
                "until_first_registration_s": round((first - start) / 1e9, 2),
                "registrations_in_flight": round(sum(e - s for s, e in inside) / (end - first), 1),
            }
        )
    return {"program_runs": described} if described else {}


def calls(spans: list[Span]) -> dict[str, Any]:
    """Provider calls by provider and method (count, total and mean time, as the engine waited
    for them; calls under 50 ms in all are left out), the engine's checkpoint writes, and what
    the program did."""
    providers = _provider_of_peers(spans)
    by: dict[str, list[float]] = defaultdict(list)
    for svc, name, attributes, start, end in spans:
        if svc == "pulumi-cli" and name.startswith("pulumirpc.ResourceProvider/"):
            peer = providers[attributes["net.peer.name"]["stringValue"]]
            by[f"{peer} {name.rsplit('/', 1)[-1]}"].append((end - start) / 1e9)
        elif svc == "pulumi-cli" and name.startswith("gocloud.dev/blob."):
            # The file backend writes the whole checkpoint after every step.
            by["engine checkpoint I/O"].append((end - start) / 1e9)
    return {
        **_program(spans),
        "provider_calls": {
            key: {
                "count": len(v),
                "sum_s": round(sum(v), 2),
                "mean_ms": round(1000 * sum(v) / len(v), 1),
            }
            for key, v in sorted(by.items(), key=lambda kv: -sum(kv[1]))
            if sum(v) >= 0.05
        },
    }


def postmaster_pid(data_dir: Path) -> int:
    """The server's first process, from the first line of its `postmaster.pid`."""
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def profiled(
    argv: list[str], cwd: Path, env: dict[str, str], server_pid: int, engine: Path | None = None
) -> dict[str, Any]:
    """Run `pulumi <argv>` with its OpenTelemetry trace in a file; return its wall time, peak
    memory, CPU by process kind and provider calls. The trace holds the calls' messages, with
    secrets: it is read and removed at once, never kept.

    With `engine`, the engine also writes its Go CPU profile to `<engine>.<pid>.cpu` (its
    `--profiling` flag; read with `go tool pprof -top`): where the engine's own CPU goes,
    which the trace does not show. Profiles hold stacks and counts, no values."""
    trace = cwd.parent / f"trace-{time.monotonic_ns()}.json"
    extra = ["--profiling", str(engine)] if engine else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*argv, "--otel-traces", f"file://{trace}", *extra],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = Sampler(proc.pid, server_pid)
    thread = threading.Thread(target=sampler.run)
    thread.start()
    _, stderr = proc.communicate(timeout=1800)
    wall = time.perf_counter() - start
    cpu = sampler.stop()
    thread.join()
    try:
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {stderr[-3000:]}")
        spans = read_spans(trace)
    finally:
        trace.unlink(missing_ok=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": round(wall, 2),
        "peak_mib": round(max(peak, before) / 1024, 1),
        "cpu_s": cpu,
        **calls(spans),
    }
