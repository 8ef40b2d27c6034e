"""One data move, end to end: load, read both sides, pre-flight, then copy table by table.

The legacy database is read through ONE snapshot for the whole run: a repeatable-read,
read-only transaction exports it, and the second session that computes the legacy checksums
while the tables copy imports it. The pre-flight's checks, every COPY and every legacy
checksum see the same rows, so the legacy side of each verification is exactly what was
copied, even if the legacy services are still writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from edulink_db.catalogue.load import load_catalogue
from edulink_db.datamove.catalog import (
    fetch_legacy_tables,
    fetch_schema_exists,
    fetch_target_tables,
)
from edulink_db.datamove.diagnosis import reason
from edulink_db.datamove.errors import DataMoveError
from edulink_db.datamove.integrity import check_references
from edulink_db.datamove.mapping import LoadedMapping, load_mapping
from edulink_db.datamove.plan import MovePlan, compile_move
from edulink_db.datamove.preflight import (
    Findings,
    check_empty,
    check_expressions,
    check_legacy_tables,
    check_runs,
    count_legacy,
    scan_legacy,
)
from edulink_db.datamove.progress import NoProgress, Progress, TableResult
from edulink_db.datamove.runrecord import RunRecord, act_as, ensure_run_table, fetch_runs
from edulink_db.datamove.sessions import MoveSessions
from edulink_db.datamove.transfer import copy_table
from edulink_db.datamove.verify import Checksum, pin_settings
from edulink_db.dsn import describe_dsn
from edulink_db.errors import Issue, ensure_no_issues

APPLICATION_NAME = "edulink-db migrate-data"
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class MoveRequest:
    root: Path
    service: str
    source: str  # DSN of the legacy database
    target: str  # DSN of the new database (the platform admin)
    dry_run: bool = False
    resume: bool = False
    tables: Sequence[str] = ()
    mapping_dir: Path | None = None  # default: <root>/legacy

    def __repr__(self) -> str:  # DSNs may hold passwords
        return (
            f"MoveRequest(service={self.service!r}, dry_run={self.dry_run}, resume={self.resume})"
        )


@dataclass(frozen=True)
class MoveReport:
    plan: MovePlan
    counts: dict[str, int]  # legacy rows per table to copy
    scans: dict[str, Checksum]  # a dry run's legacy checksums
    results: tuple[TableResult, ...]
    issues: tuple[Issue, ...]  # a dry run reports them; a real run raises instead
    dry_run: bool
    source: str  # where, without credentials
    target: str


def migrate_service(request: MoveRequest, progress: Progress | None = None) -> MoveReport:
    """Raise ValidationFailed (pre-flight problems, nothing written) or DataMoveError (a
    database unreachable, or a table that failed and was rolled back)."""
    progress = progress or NoProgress()
    catalogue = load_catalogue(request.root)
    loaded = load_mapping(request.root, request.service, catalogue, request.mapping_dir)
    services_by_schema = {s.schema_name: n for n, s in catalogue.services.items()}
    with (
        _connect(request.target, "target", autocommit=True) as target,
        _connect(request.source, "legacy", autocommit=False) as source,
    ):
        snapshot = _open_snapshot(source)
        progress.phase("pre-flight: reading both catalogs")
        sessions = MoveSessions(source, target, loaded, services_by_schema, progress)
        plan, findings = _preflight(sessions, request)
        report = MoveReport(
            plan,
            findings.counts,
            findings.scans,
            (),
            tuple(findings.issues),
            request.dry_run,
            describe_dsn(request.source),
            describe_dsn(request.target),
        )
        if request.dry_run:
            return report
        ensure_no_issues(findings.issues)
        with target.transaction():
            ensure_run_table(target, plan.schema, plan.group_role)
        results: list[TableResult] = []
        with _connect(request.source, "legacy", autocommit=False) as checksummer:
            _open_snapshot(checksummer, snapshot)
            # The checksum runs beside the copy: one process, not a parallel plan that would
            # take the cores the copy needs when both servers share a machine.
            checksummer.execute("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
            for move in plan.tables:
                if move.already_verified:
                    skipped = TableResult(str(move.target), str(move.legacy), 0, "", 0.0, True)
                    progress.finish(skipped)
                    results.append(skipped)
                    continue
                results.append(
                    copy_table(sessions, checksummer, plan, move, findings.counts[move.name])
                )
            checksummer.rollback()
        source.rollback()
    return MoveReport(
        plan,
        findings.counts,
        findings.scans,
        tuple(results),
        (),
        False,
        report.source,
        report.target,
    )


def _preflight(sessions: MoveSessions, request: MoveRequest) -> tuple[MovePlan, Findings]:
    source, target, loaded = sessions.source, sessions.target, sessions.loaded
    progress = sessions.progress
    service = loaded.service
    schema = service.schema_name
    found = Findings()
    runs, role_issue = _read_runs(target, loaded)
    targets = fetch_target_tables(target, schema)
    if not fetch_schema_exists(target, schema):
        found.issues.append(
            Issue(
                loaded.file,
                "",
                f"the target has no schema {schema}: deploy the stack (pulumi up) first",
            )
        )
    verified = set(runs) if request.resume else set()
    plan, issues = compile_move(loaded, targets, request.tables, verified)
    found.issues += issues
    if role_issue is not None:
        found.issues.append(role_issue)
    legacy_schema = loaded.mapping.legacy_schema
    check_legacy_tables(
        loaded,
        plan,
        fetch_legacy_tables(source, legacy_schema),
        fetch_schema_exists(source, legacy_schema),
        found,
    )
    check_expressions(source, loaded, plan, found)
    check_runs(loaded, plan, runs, request.resume, found)
    if role_issue is None:
        check_empty(target, plan, loaded, found)
    if request.dry_run:
        scan_legacy(source, loaded, plan, found, progress)
    else:
        count_legacy(source, plan, found, progress)
    if role_issue is None:
        check_references(sessions, plan, found)
    return plan, found


def _read_runs(
    target: psycopg.Connection[Any], loaded: LoadedMapping
) -> tuple[dict[str, RunRecord], Issue | None]:
    """The service's run records, read as its group role; that the target login can act as
    the group at all is the first thing the copy needs."""
    group = loaded.service.group_role
    try:
        with target.transaction(force_rollback=True):
            target.execute("SET TRANSACTION READ ONLY")
            act_as(target, group)
            return fetch_runs(target, loaded.service.schema_name), None
    except psycopg.Error as error:
        return {}, Issue(
            loaded.file,
            "",
            f"the target login {target.info.user!r} cannot act as {group} "
            f"([{error.diag.sqlstate}] {error.diag.message_primary}): connect as the platform "
            "admin, which is a member of every service's group role",
        )


def _open_snapshot(conn: psycopg.Connection[Any], snapshot: str | None = None) -> str:
    """Start the session's one repeatable-read, read-only transaction with the output
    settings pinned; export its snapshot, or import `snapshot` so two sessions read the
    same legacy rows."""
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        if snapshot is not None:
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        pin_settings(conn)
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    except psycopg.Error as error:
        raise DataMoveError(
            f"the legacy database cannot share a snapshot between two sessions "
            f"({reason(error)}): connect to it directly, not through a transaction pooler"
        ) from error
    assert row is not None
    return str(row[0])


def _connect(dsn: str, side: str, autocommit: bool) -> psycopg.Connection[Any]:
    try:
        params: dict[str, Any] = dict(conninfo_to_dict(dsn))
    except psycopg.ProgrammingError:
        # The parser's message may quote the string, password included.
        raise DataMoveError(f"the {side} DSN is not a valid connection string") from None
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    params["application_name"] = APPLICATION_NAME
    params["client_encoding"] = "UTF8"
    try:
        return psycopg.connect(autocommit=autocommit, prepare_threshold=None, **params)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unknown error"
        raise DataMoveError(
            f"cannot connect to the {side} database {describe_dsn(dsn)}: {reason}"
        ) from error
