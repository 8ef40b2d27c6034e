"""The sections of an inspection: `supabase inspect db`'s reports, per service, and the
platform's own (connections against the planned limit, statements against the role's
timeout, RLS sub-selects in real plans, foreign keys without an index). Pure.

Query texts are shown normalised (constants replaced by $n), never as sent: a literal in a
statement may be personal data or a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pglast.parser import ParseError, normalize

from edulink_db.inspect.scope import Scope, ServiceTarget
from edulink_db.inspect.snapshot import (
    IndexStats,
    LiveLogin,
    Lock,
    PlanCheck,
    Session,
    Snapshot,
    Statement,
    TableStats,
    Unavailable,
    need,
)
from edulink_db.introspect.state import LiveForeignKey

Cell = str | int | float | None
Row = tuple[Cell, ...]
RowLister = Callable[[Snapshot, Scope], Iterable[Row]]
_Item = TypeVar("_Item")
QUERY_WIDTH = 100


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...] = ()
    unavailable: str | None = None  # why the section could not be built


@dataclass(frozen=True)
class Report:
    """How one section is built: its name, title and columns, and the function that lists
    its rows (a row's cells in the order of `columns`)."""

    name: str
    title: str
    columns: tuple[str, ...]
    list_rows: RowLister

    def build(self, snap: Snapshot, scope: Scope) -> Section:
        return Section(self.name, self.title, self.columns, tuple(self.list_rows(snap, scope)))


def report(title: str, columns: tuple[str, ...]) -> Callable[[RowLister], Report]:
    """The report whose rows the decorated function lists, named after that function. A
    section's title and columns stand above the code that fills them, and every section is
    put together the same way in `Report.build`."""

    def named(list_rows: RowLister) -> Report:
        return Report(list_rows.__name__, title, columns, list_rows)

    return named


def show_query(text: str | None) -> str:
    """A statement with its constants replaced by $n; what cannot be normalised is not shown."""
    if not text:
        return ""
    if text.startswith("<"):  # <insufficient privilege>, <command string not enabled>
        return text
    try:
        shown = normalize(text)
    except ParseError:
        return "(not shown: the text could not be normalised)"
    return " ".join(shown.split())


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _owned(
    items: Iterable[_Item], owners: Mapping[str, ServiceTarget], owner: Callable[[_Item], str]
) -> Iterator[tuple[ServiceTarget, _Item]]:
    """Each item a service of the scope owns, with that service; `owner` names the schema,
    login or role that `owners` is keyed by."""
    for item in items:
        service = owners.get(owner(item))
        if service is not None:
            yield service, item


def service_tables(snap: Snapshot, scope: Scope) -> Iterable[tuple[ServiceTarget, TableStats]]:
    tables: tuple[TableStats, ...] = need(snap, "tables")
    yield from _owned(tables, scope.by_schema, lambda t: t.schema)


def service_indexes(snap: Snapshot, scope: Scope) -> Iterable[tuple[ServiceTarget, IndexStats]]:
    indexes: tuple[IndexStats, ...] = need(snap, "indexes")
    yield from _owned(indexes, scope.by_schema, lambda i: i.schema)


def service_sessions(snap: Snapshot, scope: Scope) -> Iterable[tuple[ServiceTarget, Session]]:
    sessions: tuple[Session, ...] = need(snap, "sessions")
    yield from _owned(sessions, scope.by_login, lambda x: x.role)


def service_statements(snap: Snapshot, scope: Scope) -> Iterable[tuple[ServiceTarget, Statement]]:
    statements: tuple[Statement, ...] = need(snap, "statements")
    yield from _owned(statements, scope.by_role, lambda x: x.role)


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


@report(
    "Table sizes and row counts",
    ("service", "table", "rows", "table_bytes", "index_bytes", "toast_bytes", "total_bytes"),
)
def table_sizes(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows = [
        (
            s.name,
            t.name,
            t.live_rows,
            t.table_bytes,
            t.index_bytes,
            t.toast_bytes,
            t.total_bytes,
        )
        for s, t in service_tables(snap, scope)
    ]
    rows.sort(key=lambda r: (r[0], -int(r[6] or 0), str(r[1])))
    return rows


@report(
    "Index sizes",
    ("service", "table", "index", "bytes", "scans", "unique"),
)
def index_sizes(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows = [
        (s.name, i.table, i.name, i.bytes, i.scans, i.unique)
        for s, i in service_indexes(snap, scope)
    ]
    rows.sort(key=lambda r: (r[0], -int(r[3] or 0), str(r[2])))
    return rows


@report(
    "Index use per table (share of scans that used an index)",
    ("service", "table", "rows", "index_scans", "seq_scans", "index_share"),
)
def index_usage(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    return [
        (
            s.name,
            t.name,
            t.live_rows,
            t.index_scans,
            t.seq_scans,
            ratio(t.index_scans, t.index_scans + t.seq_scans),
        )
        for s, t in service_tables(snap, scope)
    ]


@report(
    "Indexes never scanned (unique and primary keys excluded)",
    ("service", "table", "index", "bytes", "definition"),
)
def unused_indexes(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    return [
        (s.name, i.table, i.name, i.bytes, i.definition)
        for s, i in service_indexes(snap, scope)
        if i.scans == 0 and not i.unique
    ]


@report(
    "Sequential scans",
    ("service", "table", "seq_scans", "rows_read", "rows"),
)
def seq_scans(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows = [
        (s.name, t.name, t.seq_scans, t.seq_rows_read, t.live_rows)
        for s, t in service_tables(snap, scope)
        if t.seq_scans
    ]
    rows.sort(key=lambda r: (r[0], -int(r[2] or 0)))
    return rows


def block_totals(snap: Snapshot, scope: Scope) -> dict[str, list[int]]:
    """Per service, in the scope's order: heap hits, heap reads, index hits, index reads."""
    totals: dict[str, list[int]] = {s.name: [0, 0, 0, 0] for s in scope.services}
    for s, t in service_tables(snap, scope):
        entry = totals[s.name]
        entry[0] += t.heap_hit
        entry[1] += t.heap_read
        entry[2] += t.index_hit
        entry[3] += t.index_read
    return totals


@report(
    "Buffer cache hit ratio",
    ("service", "of", "hits", "reads", "ratio"),
)
def cache_hit(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows: list[Row] = []
    for name, (heap_hit, heap_read, index_hit, index_read) in block_totals(snap, scope).items():
        rows.append((name, "tables", heap_hit, heap_read, ratio(heap_hit, heap_hit + heap_read)))
        rows.append(
            (name, "indexes", index_hit, index_read, ratio(index_hit, index_hit + index_read))
        )
    return rows


def estimated_bloat(table: TableStats, block_size: int) -> int | None:
    """Bytes beyond what the live rows need, from the planner's statistics (no table scan):
    the pages the table has, less what reltuples rows of the analysed width would fill at
    the table's fillfactor. None before ANALYZE."""
    if table.row_width is None or table.rows_estimate < 0:
        return None
    row_bytes = 24 + 4 + table.row_width  # tuple header, line pointer, data
    usable = block_size * table.fillfactor / 100 - 24  # page header
    expected_pages = int(-(-(table.rows_estimate * row_bytes) // usable))
    return max(0, table.pages - expected_pages) * block_size


@report(
    "Estimated table bloat (from planner statistics; empty until ANALYZE)",
    ("service", "table", "table_bytes", "waste_bytes", "waste_share"),
)
def bloat(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    facts = need(snap, "facts")
    rows: list[Row] = []
    for s, t in service_tables(snap, scope):
        waste = estimated_bloat(t, facts.block_size)
        rows.append(
            (
                s.name,
                t.name,
                t.table_bytes,
                waste,
                None if waste is None else ratio(waste, t.table_bytes),
            )
        )
    return rows


def autovacuum_due(table: TableStats, threshold: int, scale: float) -> bool:
    """Whether autovacuum's own rule would pick the table now."""
    return table.dead_rows > threshold + scale * max(table.rows_estimate, 0)


@report(
    "Vacuum and analyze",
    (
        "service",
        "table",
        "last_vacuum",
        "last_autovacuum",
        "last_analyze",
        "vacuums",
        "live_rows",
        "dead_rows",
        "autovacuum_due",
    ),
)
def vacuum_stats(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    facts = need(snap, "facts")
    return [
        (
            s.name,
            t.name,
            _when(t.last_vacuum),
            _when(t.last_autovacuum),
            _when(t.last_analyze or t.last_autoanalyze),
            t.vacuum_count + t.autovacuum_count,
            t.live_rows,
            t.dead_rows,
            autovacuum_due(t, facts.autovacuum_threshold, facts.autovacuum_scale_factor),
        )
        for s, t in service_tables(snap, scope)
    ]


def login_of(snap: Snapshot, service: ServiceTarget) -> LiveLogin | None:
    logins = need(snap, "facts").logins
    return logins.get(service.login)  # type: ignore[no-any-return]


@report(
    "Connections of each login against its planned limit",
    ("service", "role", "connections", "planned_limit", "live_limit", "share"),
)
def role_connections(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows: list[Row] = []
    for service in scope.services:
        live = login_of(snap, service)
        used = live.connections if live else 0
        planned = service.connection_limit
        rows.append(
            (
                service.name,
                service.login,
                used,
                planned,
                live.connection_limit if live else None,
                ratio(used, planned) if planned > 0 else None,
            )
        )
    return rows


@report(
    "Timeouts of each login: planned and live (ms)",
    (
        "service",
        "role",
        "statement_timeout_planned",
        "statement_timeout_live",
        "idle_timeout_planned",
        "idle_timeout_live",
    ),
)
def role_configs(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows: list[Row] = []
    for service in scope.services:
        live = login_of(snap, service)
        rows.append(
            (
                service.name,
                service.login,
                service.statement_timeout_ms,
                live.statement_timeout_ms if live else None,
                service.idle_in_transaction_timeout_ms,
                live.idle_in_transaction_timeout_ms if live else None,
            )
        )
    return rows


@report(
    "Sessions in a query or a transaction, longest transaction first",
    ("service", "pid", "role", "state", "state_seconds", "transaction_seconds", "query"),
)
def long_running_queries(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows = [
        (
            s.name,
            x.pid,
            x.role,
            x.state,
            x.query_s if x.state == "active" else x.state_s,
            x.transaction_s,
            show_query(x.query),
        )
        for s, x in service_sessions(snap, scope)
        if x.state not in (None, "idle")
    ]
    rows.sort(key=lambda r: -float(r[5] or 0))
    return rows


@report(
    "Sessions waiting for another session's lock",
    (
        "service",
        "blocked_pid",
        "blocked_role",
        "waiting_seconds",
        "blocked_query",
        "blocking_pid",
        "blocking_role",
        "blocking_state",
        "blocking_query",
    ),
)
def blocking(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    sessions: tuple[Session, ...] = need(snap, "sessions")
    by_pid = {x.pid: x for x in sessions}
    rows: list[Row] = []
    for s, blocked in service_sessions(snap, scope):
        for pid in blocked.blocked_by:
            blocker = by_pid.get(pid)
            rows.append(
                (
                    s.name,
                    blocked.pid,
                    blocked.role,
                    blocked.state_s,
                    show_query(blocked.query),
                    pid,
                    blocker.role if blocker else None,
                    blocker.state if blocker else None,
                    show_query(blocker.query) if blocker else None,
                )
            )
    return rows


@report(
    "Locks held or awaited (granted ACCESS SHARE left out)",
    ("service", "pid", "role", "type", "relation", "mode", "granted", "waiting_seconds"),
)
def locks(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    found: tuple[Lock, ...] = need(snap, "locks")
    rows: list[Row] = []
    for lock in found:
        service = scope.by_schema.get(lock.schema or "") or scope.by_login.get(lock.role)
        if service is None:
            continue
        relation = f"{lock.schema}.{lock.relation}" if lock.relation else None
        rows.append(
            (
                service.name,
                lock.pid,
                lock.role,
                lock.lock_type,
                relation,
                lock.mode,
                lock.granted,
                lock.waiting_s,
            )
        )
    return rows


def _statement_rows(
    snap: Snapshot, scope: Scope, key: Callable[[Statement], float], limit: int
) -> list[tuple[ServiceTarget, Statement, float]]:
    totals: dict[str, float] = {}
    for s, x in service_statements(snap, scope):
        totals[s.name] = totals.get(s.name, 0.0) + key(x)
    chosen: list[tuple[ServiceTarget, Statement, float]] = []
    per_service: dict[str, int] = {}
    for s, x in sorted(service_statements(snap, scope), key=lambda p: (p[0].name, -key(p[1]))):
        if per_service.get(s.name, 0) >= limit:
            continue
        per_service[s.name] = per_service.get(s.name, 0) + 1
        chosen.append((s, x, key(x) / totals[s.name] if totals[s.name] else 0.0))
    return chosen


@report(
    "Statements by total execution time (pg_stat_statements)",
    ("service", "role", "total_ms", "share", "calls", "mean_ms", "max_ms", "query"),
)
def outliers(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    return [
        (
            s.name,
            x.role,
            round(x.total_ms, 3),
            round(share, 4),
            x.calls,
            round(x.mean_ms, 3),
            round(x.max_ms, 3),
            show_query(x.query),
        )
        for s, x, share in _statement_rows(snap, scope, lambda x: x.total_ms, 10)
    ]


@report(
    "Statements by number of calls (pg_stat_statements)",
    ("service", "role", "calls", "share", "total_ms", "query"),
)
def calls(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    return [
        (s.name, x.role, x.calls, round(share, 4), round(x.total_ms, 3), show_query(x.query))
        for s, x, share in _statement_rows(snap, scope, lambda x: float(x.calls), 10)
    ]


def timeout_of(snap: Snapshot, service: ServiceTarget) -> int | None:
    """The statement_timeout the server enforces for the login, else the planned one."""
    live = login_of(snap, service)
    return (live.statement_timeout_ms if live else None) or service.statement_timeout_ms


@report(
    "Worst time of each top statement against the role's statement_timeout",
    ("service", "role", "timeout_ms", "max_ms", "share", "query"),
)
def statement_timeouts(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    rows: list[Row] = []
    for s, x in service_statements(snap, scope):
        timeout = timeout_of(snap, s)
        if timeout:
            rows.append(
                (
                    s.name,
                    x.role,
                    timeout,
                    round(x.max_ms, 3),
                    ratio(x.max_ms, timeout),
                    show_query(x.query),
                )
            )
    rows.sort(key=lambda r: (str(r[0]), -float(r[4] or 0)))
    return rows


@report(
    "Policy sub-selects in the plans of the top statements",
    ("service", "query_id", "table", "policies", "plan", "query"),
)
def rls_plans(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    checks: tuple[PlanCheck, ...] = need(snap, "plans")
    rows: list[Row] = []
    for check in checks:
        if check.service not in {s.name for s in scope.services}:
            continue
        if check.problem:
            rows.append(
                (
                    check.service,
                    str(check.query_id),
                    None,
                    None,
                    check.problem,
                    show_query(check.query),
                )
            )
            continue
        for table, policies in sorted(check.policies.items()):
            shape = check.shapes.get(table, "not scanned")
            rows.append(
                (
                    check.service,
                    str(check.query_id),
                    table,
                    ", ".join(policies),
                    shape,
                    show_query(check.query),
                )
            )
    return rows


@report(
    "Foreign keys without an index leading with their columns",
    ("service", "table", "constraint", "columns", "references"),
)
def unindexed_foreign_keys(snap: Snapshot, scope: Scope) -> Iterable[Row]:
    keys: tuple[LiveForeignKey, ...] = need(snap, "foreign_keys")
    return [
        (
            scope.by_schema[k.schema].name,
            f"{k.schema}.{k.table}",
            k.name,
            ", ".join(k.columns),
            f"{k.ref_schema}.{k.ref_table}",
        )
        for k in keys
        if not k.indexed and k.schema in scope.by_schema
    ]


REPORTS: tuple[Report, ...] = (
    table_sizes,
    index_sizes,
    index_usage,
    unused_indexes,
    seq_scans,
    cache_hit,
    bloat,
    vacuum_stats,
    role_connections,
    role_configs,
    long_running_queries,
    blocking,
    locks,
    outliers,
    calls,
    statement_timeouts,
    rls_plans,
    unindexed_foreign_keys,
)


def build_sections(
    snap: Snapshot, scope: Scope, reports: Sequence[Report] = REPORTS
) -> list[Section]:
    """Every section; one whose data could not be read says why instead of showing nothing."""
    sections: list[Section] = []
    for each in reports:
        try:
            sections.append(each.build(snap, scope))
        except Unavailable as missing:
            sections.append(Section(each.name, each.name, (), (), missing.reason))
    return sections
