"""What `inspect` read of a live database: plain, frozen values.

Every dataset is None when it could not be read, and `unavailable` then says why; a report or
check that needs it says "not evaluated" instead of showing an empty, clean-looking result.
Durations are seconds, sizes bytes, times milliseconds where the name says `_ms`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edulink_db.introspect.state import LiveForeignKey, LivePolicy, SessionInfo


@dataclass(frozen=True)
class LiveLogin:
    """A login role as the server has it: its limit and the timeouts set on the role."""

    name: str
    connection_limit: int  # -1: none
    statement_timeout_ms: int | None
    idle_in_transaction_timeout_ms: int | None
    connections: int  # sessions of this role in every database of the cluster


@dataclass(frozen=True)
class ServerFacts:
    server_version_num: int
    block_size: int
    track_counts: bool
    track_activities: bool
    stats_reset: datetime | None
    autovacuum_threshold: int
    autovacuum_scale_factor: float
    # The schema pg_stat_statements is installed in, and whether the library is loaded.
    statements_schema: str | None
    statements_loaded: bool
    logins: Mapping[str, LiveLogin]


@dataclass(frozen=True)
class TableStats:
    schema: str
    name: str
    rows_estimate: float  # pg_class.reltuples; -1 before the first VACUUM or ANALYZE
    pages: int
    table_bytes: int  # the heap with its free space and visibility maps
    index_bytes: int
    toast_bytes: int  # TOAST table and its index
    total_bytes: int  # the sum of the three
    live_rows: int
    dead_rows: int
    seq_scans: int
    seq_rows_read: int
    index_scans: int
    inserted: int
    updated: int
    deleted: int
    last_vacuum: datetime | None
    last_autovacuum: datetime | None
    last_analyze: datetime | None
    last_autoanalyze: datetime | None
    vacuum_count: int
    autovacuum_count: int
    heap_hit: int
    heap_read: int
    index_hit: int
    index_read: int
    row_security: bool
    row_width: int | None  # sum of pg_stats.avg_width; None before ANALYZE
    fillfactor: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True)
class IndexStats:
    schema: str
    table: str
    name: str
    bytes: int
    scans: int
    tuples_read: int
    unique: bool  # unique, primary key or exclusion: it enforces something even unused
    valid: bool
    definition: str
    hit: int
    read: int


@dataclass(frozen=True)
class Session:
    pid: int
    role: str
    database: str
    application: str
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    backend_s: float | None
    transaction_s: float | None
    query_s: float | None
    state_s: float | None
    query: str | None  # as the server shows it; normalised before anything renders it
    blocked_by: tuple[int, ...]


@dataclass(frozen=True)
class Lock:
    pid: int
    role: str
    lock_type: str
    mode: str
    granted: bool
    schema: str | None
    relation: str | None
    waiting_s: float | None


@dataclass(frozen=True)
class Statement:
    role: str
    query_id: int
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    hit: int
    read: int
    query: str  # normalised by pg_stat_statements: constants are $n


@dataclass(frozen=True)
class PlanCheck:
    """One top statement explained as its service: how each RLS table's policy sub-selects
    ran in the plan (`shapes`: table -> init-plan | per-row sub-plan | folded), or why it
    could not be explained."""

    service: str
    role: str
    query_id: int
    query: str
    shapes: Mapping[str, str] = field(default_factory=dict)
    policies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # table -> names
    problem: str | None = None


@dataclass(frozen=True)
class Snapshot:
    session: SessionInfo
    facts: ServerFacts | None = None
    tables: tuple[TableStats, ...] | None = None
    indexes: tuple[IndexStats, ...] | None = None
    foreign_keys: tuple[LiveForeignKey, ...] | None = None
    sessions: tuple[Session, ...] | None = None
    locks: tuple[Lock, ...] | None = None
    statements: tuple[Statement, ...] | None = None
    policies: tuple[LivePolicy, ...] | None = None
    plans: tuple[PlanCheck, ...] | None = None
    unavailable: Mapping[str, str] = field(default_factory=dict)
    queries: int = 0
    plan_queries: int = 0  # of `queries`: the EXPLAINs, at most a fixed budget


class Unavailable(Exception):
    """A report or check needs a dataset the inspection could not read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def need(snapshot: Snapshot, dataset: str) -> Any:
    """The dataset, or Unavailable with the reason it could not be read."""
    value = getattr(snapshot, dataset)
    if value is None:
        raise Unavailable(snapshot.unavailable.get(dataset, f"{dataset} were not read"))
    return value
