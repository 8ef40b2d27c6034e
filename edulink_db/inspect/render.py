"""An InspectReport as text: aligned tables, JSON, or Prometheus' text exposition format.

The Prometheus text is what node_exporter's textfile collector reads (write it to
`<dir>/edulink_db.prom.$$` and rename it into place): one HELP and TYPE line per metric
family, label values escaped, no timestamps, no query texts (they would make every
statement a series and could carry data).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from edulink_db.finding import Level
from edulink_db.inspect.reports import Cell, estimated_bloat
from edulink_db.inspect.run import InspectReport
from edulink_db.inspect.scope import Scope
from edulink_db.inspect.snapshot import IndexStats, Snapshot, TableStats

FORMATS = ("table", "json", "prometheus")
CELL_WIDTH = 60


def render(report: InspectReport, format: str) -> str:
    if format == "table":
        return render_table(report)
    if format == "json":
        return render_json(report)
    if format == "prometheus":
        return render_prometheus(report)
    raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")


def summary(report: InspectReport) -> str:
    counts = ", ".join(f"{report.count(level)} {level.value}" for level in Level)
    return (
        f"{len(report.findings)} finding(s) ({counts}), {len(report.not_evaluated)} not "
        f"evaluated on {report.database} ({', '.join(report.services)}); {report.queries} "
        f"queries ({report.plan_queries} for plans)"
    )


# -- table ----------------------------------------------------------------------------------


def _text(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float):
        return f"{cell:,.4g}" if abs(cell) < 1 else f"{cell:,.1f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    return cell if len(cell) <= CELL_WIDTH else cell[: CELL_WIDTH - 1] + "…"


def _full(cell: Cell) -> str:
    return cell if isinstance(cell, str) else _text(cell)


def table_lines(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> list[str]:
    """Aligned columns; long texts are cut, except in the last column (a message)."""
    last = len(columns) - 1
    cells = [list(columns)] + [
        [_text(c) if i < last else _full(c) for i, c in enumerate(row)] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]


def render_table(report: InspectReport) -> str:
    lines: list[str] = []
    for section in report.sections:
        lines.append(f"== {section.title} [{section.name}]")
        if section.unavailable:
            lines.append(f"not available: {section.unavailable}")
        elif not section.rows:
            lines.append("(none)")
        else:
            lines += table_lines(section.columns, section.rows)
        lines.append("")
    lines.append("== Findings")
    if report.findings:
        lines += table_lines(
            ("level", "code", "object", "message"),
            [(f.level.value, f.code, f.object, f.message) for f in report.findings],
        )
    else:
        lines.append("No findings.")
    if report.not_evaluated:
        lines += ["", "NOT EVALUATED (these checks did not pass; they could not be made):"]
        lines += table_lines(
            ("code", "object", "reason"),
            [(n.code, n.object, n.reason) for n in report.not_evaluated],
        )
    lines += ["", summary(report)]
    return "\n".join(lines) + "\n"


# -- json -----------------------------------------------------------------------------------


def render_json(report: InspectReport) -> str:
    document = {
        "database": report.database,
        "server_version": report.server_version,
        "user": report.user,
        "services": list(report.services),
        "queries": report.queries,
        "plan_queries": report.plan_queries,
        "statements_source": report.statements_source,
        "sections": {
            s.name: {
                "title": s.title,
                "columns": list(s.columns),
                "rows": [dict(zip(s.columns, row, strict=True)) for row in s.rows],
                "unavailable": s.unavailable,
            }
            for s in report.sections
        },
        "findings": [
            {
                "code": f.code,
                "level": f.level.value,
                "object": f.object,
                "message": f.message,
                "remediation": f.remediation,
            }
            for f in report.findings
        ],
        "not_evaluated": [
            {"code": n.code, "object": n.object, "reason": n.reason} for n in report.not_evaluated
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


# -- prometheus ------------------------------------------------------------------------------

Labels = dict[str, str]
Sample = tuple[Labels, float]


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels.items())
        lines.append(f"{name}{{{inner}}} {_number(value)}" if inner else f"{name} {_number(value)}")
    return lines


def _metrics(report: InspectReport) -> Iterator[tuple[str, str, str, list[Sample]]]:
    snap = report.snapshot
    yield (
        "edulink_db_inspect_queries",
        "gauge",
        "Queries the last inspection sent.",
        [({}, report.queries)],
    )
    yield (
        "edulink_db_inspect_findings",
        "gauge",
        "Findings of the last inspection.",
        [({"code": code, "level": level}, n) for (code, level), n in _finding_counts(report)],
    )
    yield (
        "edulink_db_inspect_not_evaluated",
        "gauge",
        "Checks the last inspection could not make.",
        [({"code": code}, n) for code, n in _counts(n.code for n in report.not_evaluated)],
    )
    if snap is not None and report.scope is not None:
        yield from _snapshot_metrics(snap, report.scope)


def _finding_counts(report: InspectReport) -> list[tuple[tuple[str, str], int]]:
    return _counts((f.code, f.level.value) for f in report.findings)


def _counts(items: Iterable[Any]) -> list[tuple[Any, int]]:
    found: dict[Any, int] = {}
    for item in items:
        found[item] = found.get(item, 0) + 1
    return sorted(found.items())


def _snapshot_metrics(snap: Snapshot, scope: Scope) -> Iterator[tuple[str, str, str, list[Sample]]]:
    tables = [t for t in snap.tables or () if t.schema in scope.by_schema]
    indexes = [i for i in snap.indexes or () if i.schema in scope.by_schema]
    block = snap.facts.block_size if snap.facts else 8192

    def per_table(value: Callable[[TableStats], float | None]) -> list[Sample]:
        found = []
        for table in tables:
            figure = value(table)
            if figure is not None:
                labels = {"service": scope.by_schema[table.schema].name, "table": table.name}
                found.append((labels, figure))
        return found

    def per_index(value: Callable[[IndexStats], float]) -> list[Sample]:
        return [
            (
                {"service": scope.by_schema[i.schema].name, "table": i.table, "index": i.name},
                value(i),
            )
            for i in indexes
        ]

    for name, kind, help_text, figure in _TABLE_METRICS:
        yield name, kind, help_text, per_table(figure)
    yield (
        "edulink_db_table_bloat_bytes",
        "gauge",
        "Estimated bytes of the table holding no live row (planner statistics).",
        per_table(lambda t: estimated_bloat(t, block)),
    )
    yield "edulink_db_index_bytes", "gauge", "Size of the index.", per_index(lambda i: i.bytes)
    yield (
        "edulink_db_index_scans_total",
        "counter",
        "Scans of the index.",
        per_index(lambda i: i.scans),
    )
    yield from _service_metrics(snap, scope)


_TABLE_METRICS: tuple[tuple[str, str, str, Callable[[TableStats], float]], ...] = (
    ("edulink_db_table_bytes", "gauge", "Size of the table's heap.", lambda t: t.table_bytes),
    (
        "edulink_db_table_index_bytes",
        "gauge",
        "Size of the table's indexes.",
        lambda t: t.index_bytes,
    ),
    ("edulink_db_table_toast_bytes", "gauge", "Size of the TOAST data.", lambda t: t.toast_bytes),
    ("edulink_db_table_live_rows", "gauge", "Live rows (statistics).", lambda t: t.live_rows),
    ("edulink_db_table_dead_rows", "gauge", "Dead rows (statistics).", lambda t: t.dead_rows),
    ("edulink_db_table_seq_scans_total", "counter", "Sequential scans.", lambda t: t.seq_scans),
    ("edulink_db_table_index_scans_total", "counter", "Index scans.", lambda t: t.index_scans),
    (
        "edulink_db_table_blocks_hit_total",
        "counter",
        "Heap blocks found in the buffer cache.",
        lambda t: t.heap_hit,
    ),
    (
        "edulink_db_table_blocks_read_total",
        "counter",
        "Heap blocks read from outside the buffer cache.",
        lambda t: t.heap_read,
    ),
    (
        "edulink_db_table_vacuums_total",
        "counter",
        "Vacuums of the table, manual and automatic.",
        lambda t: t.vacuum_count + t.autovacuum_count,
    ),
)


def _service_metrics(snap: Snapshot, scope: Scope) -> Iterator[tuple[str, str, str, list[Sample]]]:
    logins = snap.facts.logins if snap.facts else {}
    live = [(s, logins[s.login]) for s in scope.services if s.login in logins]
    yield (
        "edulink_db_role_connections",
        "gauge",
        "Sessions of the service's login, in every database.",
        [({"service": s.name, "role": s.login}, x.connections) for s, x in live],
    )
    yield (
        "edulink_db_role_connection_limit",
        "gauge",
        "The login's planned connection limit (-1: none).",
        [({"service": s.name, "role": s.login}, s.connection_limit) for s in scope.services],
    )
    yield (
        "edulink_db_role_statement_timeout_seconds",
        "gauge",
        "The statement_timeout set on the login.",
        [
            ({"service": s.name, "role": s.login}, x.statement_timeout_ms / 1000)
            for s, x in live
            if x.statement_timeout_ms
        ],
    )
    yield from _session_metrics(snap, scope)
    yield from _statement_metrics(snap, scope)


def _session_metrics(snap: Snapshot, scope: Scope) -> Iterator[tuple[str, str, str, list[Sample]]]:
    states: dict[tuple[str, str], int] = {}
    oldest: dict[str, float] = {s.name: 0.0 for s in scope.services}
    blocked: dict[str, int] = {s.name: 0 for s in scope.services}
    for session in snap.sessions or ():
        service = scope.by_login.get(session.role)
        if service is None:
            continue
        key = (service.name, session.state or "unknown")
        states[key] = states.get(key, 0) + 1
        oldest[service.name] = max(oldest[service.name], session.transaction_s or 0.0)
        blocked[service.name] += 1 if session.blocked_by else 0
    yield (
        "edulink_db_sessions",
        "gauge",
        "Sessions of the service's login in this database, by state.",
        [({"service": s, "state": state}, n) for (s, state), n in sorted(states.items())],
    )
    if snap.sessions is not None:
        yield (
            "edulink_db_oldest_transaction_seconds",
            "gauge",
            "Age of the service's oldest open transaction (0: none).",
            [({"service": s}, v) for s, v in sorted(oldest.items())],
        )
        yield (
            "edulink_db_blocked_sessions",
            "gauge",
            "Sessions of the service waiting for another session's lock.",
            [({"service": s}, v) for s, v in sorted(blocked.items())],
        )


def _statement_metrics(
    snap: Snapshot, scope: Scope
) -> Iterator[tuple[str, str, str, list[Sample]]]:
    if snap.statements is None:
        return
    worst: dict[str, float] = {s.name: 0.0 for s in scope.services}
    for statement in snap.statements:
        service = scope.by_role.get(statement.role)
        if service is not None:
            worst[service.name] = max(worst[service.name], statement.max_ms / 1000)
    yield (
        "edulink_db_statement_max_seconds",
        "gauge",
        "Worst execution time of the service's top statements (pg_stat_statements).",
        [({"service": s}, v) for s, v in sorted(worst.items())],
    )
    per_row = [
        ({"service": c.service, "table": table}, 1.0)
        for c in snap.plans or ()
        for table, shape in sorted(c.shapes.items())
        if shape == "per-row sub-plan"
    ]
    yield (
        "edulink_db_rls_per_row_sub_plans",
        "gauge",
        "Top statements whose plan runs a policy sub-select once per row, by table.",
        _counts_of(per_row),
    )


def _counts_of(samples: list[Sample]) -> list[Sample]:
    totals: dict[tuple[tuple[str, str], ...], float] = {}
    for labels, value in samples:
        key = tuple(sorted(labels.items()))
        totals[key] = totals.get(key, 0.0) + value
    return [(dict(key), value) for key, value in sorted(totals.items())]


def render_prometheus(report: InspectReport) -> str:
    lines: list[str] = []
    for name, kind, help_text, samples in _metrics(report):
        lines += _family(name, kind, help_text, samples)
    return "\n".join(lines) + "\n"
