"""Findings of an inspection: each figure of a service against its threshold. Pure.

One check = one permanent code (IN01…IN12), the same shape as the audit's findings, so the
same renderers, exit codes and alerting apply. A check whose data could not be read, or that
crashes, is reported as not evaluated; it never passes by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from edulink_db.finding import Finding, Level, NotEvaluated
from edulink_db.inspect.reports import (
    autovacuum_due,
    block_totals,
    estimated_bloat,
    login_of,
    service_indexes,
    service_sessions,
    service_statements,
    service_tables,
    show_query,
    timeout_of,
)
from edulink_db.inspect.scope import Scope
from edulink_db.inspect.snapshot import PlanCheck, Snapshot, Unavailable, need
from edulink_db.inspect.thresholds import Ceiling, Floor, Thresholds
from edulink_db.introspect.state import LiveForeignKey

Outcome = Finding | NotEvaluated


def above(value: float, ceiling: Ceiling) -> Level | None:
    if value >= ceiling.error:
        return Level.error
    if value >= ceiling.warning:
        return Level.warning
    return None


def below(value: float, floor: Floor) -> Level | None:
    if value < floor.error:
        return Level.error
    if value < floor.warning:
        return Level.warning
    return None


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    summary: str
    run: Callable[[Snapshot, Scope, Thresholds], Iterator[Outcome]]


def connections(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN01: a login uses a large share of its planned connection limit; at the limit the
    next connection fails with "too many connections for role"."""
    for service in scope.services:
        live = login_of(snap, service)
        planned = service.connection_limit
        if live is None or planned <= 0:
            continue
        share = live.connections / planned
        level = above(share, limits.connections)
        if level:
            yield Finding(
                "IN01",
                level,
                service.login,
                f"{service.login} has {live.connections} of its {planned} planned connections "
                f"in use ({share:.0%})",
                "pool the service's connections (PgBouncer or Supavisor's transaction mode), "
                "or raise edulink-db:serviceLimits.<service>.connectionLimit and deploy",
            )


def statement_near_timeout(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN02: a statement's worst time (pg_stat_statements) came close to the login's
    statement_timeout; a little more data and it is cancelled (57014)."""
    for service, statement in service_statements(snap, scope):
        timeout = timeout_of(snap, service)
        if not timeout:
            continue
        share = statement.max_ms / timeout
        level = above(share, limits.statement_timeout)
        if level:
            yield Finding(
                "IN02",
                level,
                f"{service.login} query {statement.query_id}",
                f"took up to {statement.max_ms:,.0f} ms, {share:.0%} of {service.login}'s "
                f"statement_timeout of {timeout:,} ms: {show_query(statement.query)[:120]}",
                "index or rewrite the statement (its plan: EXPLAIN as the service), or raise "
                "the service's statementTimeoutMs knowingly",
            )


def query_near_timeout(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN03: a query running now has used a large share of the login's statement_timeout."""
    for service, session in service_sessions(snap, scope):
        timeout = timeout_of(snap, service)
        if session.state != "active" or not timeout or session.query_s is None:
            continue
        share = session.query_s * 1000 / timeout
        level = above(share, limits.statement_timeout)
        if level:
            yield Finding(
                "IN03",
                level,
                f"{service.login} pid {session.pid}",
                f"has been running for {session.query_s:,.1f} s, {share:.0%} of the "
                f"statement_timeout of {timeout:,} ms: {show_query(session.query)[:120]}",
                "find why it is slow (blocked? see the blocking report) before the timeout "
                "cancels it",
            )


def rls_sub_plans(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN04: in the plan of one of the service's top statements, a policy's sub-select runs
    once per row (a SubPlan) instead of once per statement (an InitPlan)."""
    checks: tuple[PlanCheck, ...] = need(snap, "plans")
    names = {s.name for s in scope.services}
    for check in checks:
        if check.service not in names:
            continue
        if check.problem:
            yield NotEvaluated("IN04", f"{check.role} query {check.query_id}", check.problem)
            continue
        for table, shape in sorted(check.shapes.items()):
            if shape == "ambiguous":
                yield NotEvaluated(
                    "IN04",
                    f"{check.role} query {check.query_id}",
                    f"a sub-plan on {table} may be the statement's own sub-select or a "
                    "policy's: they read the same relations",
                )
            if shape == "per-row sub-plan":
                yield Finding(
                    "IN04",
                    Level.warning,
                    table,
                    f"a policy sub-select runs once per row in the plan of {check.role}'s query "
                    f"{check.query_id} (policies with sub-selects: "
                    f"{', '.join(check.policies.get(table, ()))}): "
                    f"{show_query(check.query)[:120]}",
                    "make the sub-select independent of the row (wrap calls as (SELECT f()), "
                    "move row comparisons out of it) so PostgreSQL runs it once as an InitPlan",
                )


def unindexed_foreign_key(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN05: a foreign key without an index leading with its columns: every delete or key
    update of the referenced row scans the whole referencing table."""
    keys: tuple[LiveForeignKey, ...] = need(snap, "foreign_keys")
    for key in keys:
        if key.indexed or key.schema not in scope.by_schema:
            continue
        yield Finding(
            "IN05",
            Level.warning,
            f"{key.schema}.{key.table}",
            f"foreign key {key.name} ({', '.join(key.columns)}) → {key.ref_schema}."
            f"{key.ref_table} has no index leading with its columns",
            f"add CREATE INDEX ON {key.schema}.{key.table} ({', '.join(key.columns)}) in a "
            "migration",
        )


def cache_hit(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN06: too many of a service's reads miss the buffer cache."""
    # A service without tables has no block reads: below any minimum, so never reported.
    totals = block_totals(snap, scope)
    for name, (heap_hit, heap_read, index_hit, index_read) in sorted(totals.items()):
        for kind, hit, read in (
            ("tables", heap_hit, heap_read),
            ("indexes", index_hit, index_read),
        ):
            if hit + read < max(limits.cache_min_blocks, 1):
                continue
            share = hit / (hit + read)
            level = below(share, limits.cache_hit)
            if level:
                yield Finding(
                    "IN06",
                    level,
                    f"{name} {kind}",
                    f"{share:.2%} of {hit + read:,} block reads of {name}'s {kind} hit the "
                    "buffer cache",
                    "find the statements that read most blocks (outliers), add the indexes "
                    "they need, or size shared_buffers for the working set",
                )


def unused_index(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN07: an index never scanned since the statistics were reset costs every write."""
    for _service, index in service_indexes(snap, scope):
        if index.scans or index.unique or index.bytes < limits.unused_index_min_bytes:
            continue
        yield Finding(
            "IN07",
            Level.info,
            f"{index.schema}.{index.name}",
            f"index {index.name} on {index.table} ({index.bytes:,} bytes) was never scanned "
            "since the statistics were reset",
            "drop it in a migration if no statement needs it (an index that supports a "
            "foreign key is used by deletes of the referenced rows)",
        )


def seq_scan(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN08: a large table is mostly read by sequential scans."""
    for _service, table in service_tables(snap, scope):
        scans = table.seq_scans + table.index_scans
        if table.live_rows < limits.seq_scan_min_rows or not scans:
            continue
        share = table.seq_scans / scans
        level = above(share, limits.seq_scan_share)
        if level:
            yield Finding(
                "IN08",
                level,
                f"{table.schema}.{table.name}",
                f"{share:.0%} of {scans:,} scans of {table.name} ({table.live_rows:,} rows) "
                "were sequential",
                "find the statements that scan it (outliers) and index what they filter on",
            )


def dead_rows(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN09: dead rows pile up: vacuum is not keeping up with the table's updates."""
    facts = need(snap, "facts")
    for _service, table in service_tables(snap, scope):
        total = table.live_rows + table.dead_rows
        if table.dead_rows < limits.dead_rows_min or not total:
            continue
        share = table.dead_rows / total
        level = above(share, limits.dead_rows)
        if level:
            due = autovacuum_due(table, facts.autovacuum_threshold, facts.autovacuum_scale_factor)
            when = table.last_autovacuum or table.last_vacuum
            yield Finding(
                "IN09",
                level,
                f"{table.schema}.{table.name}",
                f"{table.dead_rows:,} dead rows ({share:.0%}); last vacuum "
                f"{when.isoformat(timespec='seconds') if when else 'never'}"
                f"{'; autovacuum is due' if due else ''}",
                "check that autovacuum runs (a long transaction holds it back: see "
                "long_running_queries), or VACUUM the table",
            )


def table_bloat(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN10: a table takes much more space than its rows need."""
    facts = need(snap, "facts")
    for _service, table in service_tables(snap, scope):
        waste = estimated_bloat(table, facts.block_size)
        if waste is None or waste < limits.bloat_min_bytes or not table.table_bytes:
            continue
        share = waste / table.table_bytes
        level = above(share, limits.bloat)
        if level:
            yield Finding(
                "IN10",
                level,
                f"{table.schema}.{table.name}",
                f"about {waste:,} of its {table.table_bytes:,} bytes ({share:.0%}) hold no live "
                "row (estimate from planner statistics)",
                "VACUUM (FULL) or pg_repack in a maintenance window; keep autovacuum ahead of "
                "the updates",
            )


def blocked(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN11: a service's session waits for a lock another session holds."""
    for service, session in service_sessions(snap, scope):
        if not session.blocked_by:
            continue
        waited = session.state_s or 0.0
        level = above(waited, limits.blocked_seconds)
        if level:
            yield Finding(
                "IN11",
                level,
                f"{service.login} pid {session.pid}",
                f"has waited {waited:,.1f} s for a lock held by pid "
                f"{', '.join(str(p) for p in session.blocked_by)}",
                "see the blocking report for what the blocker runs; end it "
                "(pg_terminate_backend) if it is stuck",
            )


def long_transaction(snap: Snapshot, scope: Scope, limits: Thresholds) -> Iterator[Outcome]:
    """IN12: a transaction open for long holds back vacuum and keeps its locks."""
    for service, session in service_sessions(snap, scope):
        if session.transaction_s is None:
            continue
        level = above(session.transaction_s, limits.transaction_seconds)
        if level:
            yield Finding(
                "IN12",
                level,
                f"{service.login} pid {session.pid}",
                f"its transaction has been open {session.transaction_s:,.0f} s "
                f"(now {session.state}): {show_query(session.query)[:120]}",
                "commit sooner; idle_in_transaction_session_timeout ends idle ones",
            )


CHECKS: tuple[Check, ...] = (
    Check("IN01", "connections", "connections near the planned limit", connections),
    Check("IN02", "statement_timeout", "statements near statement_timeout", statement_near_timeout),
    Check("IN03", "query_timeout", "running queries near statement_timeout", query_near_timeout),
    Check("IN04", "rls_sub_plan", "policy sub-selects run per row", rls_sub_plans),
    Check("IN05", "unindexed_foreign_key", "foreign keys without an index", unindexed_foreign_key),
    Check("IN06", "cache_hit", "buffer cache hit ratio", cache_hit),
    Check("IN07", "unused_index", "indexes never scanned", unused_index),
    Check("IN08", "seq_scans", "large tables read sequentially", seq_scan),
    Check("IN09", "dead_rows", "dead rows and vacuum", dead_rows),
    Check("IN10", "bloat", "table bloat", table_bloat),
    Check("IN11", "blocked", "sessions blocked by a lock", blocked),
    Check("IN12", "long_transaction", "long transactions", long_transaction),
)


def evaluate(
    snap: Snapshot, scope: Scope, limits: Thresholds
) -> tuple[list[Finding], list[NotEvaluated]]:
    """Every check; a check without its data, or one that crashes, is not evaluated."""
    findings: list[Finding] = []
    skipped: list[NotEvaluated] = []
    where = snap.session.database
    for check in CHECKS:
        try:
            for outcome in check.run(snap, scope, limits):
                (findings if isinstance(outcome, Finding) else skipped).append(outcome)  # type: ignore[arg-type]
        except Unavailable as missing:
            skipped.append(NotEvaluated(check.code, where, missing.reason))
        except Exception as crash:  # a crashing check is reported, never silence
            skipped.append(
                NotEvaluated(
                    check.code, where, f"the check failed: {type(crash).__name__}: {crash}"
                )
            )
    return sorted(findings, key=Finding.sort_key), sorted(skipped, key=NotEvaluated.sort_key)
