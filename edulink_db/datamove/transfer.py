"""Copy one table: COPY streamed from the legacy server into the target, verified, recorded.

One target transaction per table, as the service's group role (SET LOCAL ROLE), under the
schema's advisory lock:

1. re-check, under the lock, that no concurrent run recorded the table and that it is empty;
2. `COPY (<cast, transformed SELECT>) TO STDOUT` on the legacy side, its bytes written as
   they arrive into `COPY <table> (<columns>) FROM STDIN`, in buffers of `CHUNK` bytes, so
   memory does not grow with the table. Meanwhile a second legacy session, on the same
   snapshot, computes the legacy count and checksum (`verify`): the target is the slow side
   of a copy, and the legacy checksum costs no wall time beside it;
3. count and checksum the written rows on the target and compare; any difference raises,
   which rolls the whole table back;
4. move serial and identity sequences past the copied maximum, and record the run.

A legacy value that fails (a cast, a transform) fails the COPY; the table is rolled back and
the failing column is found and named (`diagnosis`).

Row-level security: PostgreSQL refuses `COPY FROM` into a table whose policies apply to the
current role ("COPY FROM not supported with row-level security"), and FORCE ROW LEVEL
SECURITY makes them apply to the owner. The copy therefore lifts FORCE inside its own
transaction, under the ACCESS EXCLUSIVE lock ALTER TABLE takes, and sets it again before
commit: no other session can see the table in between, and a failure rolls the change back
with the rows.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.datamove.diagnosis import failing_column, reason
from edulink_db.datamove.errors import DataMoveError
from edulink_db.datamove.plan import MovePlan, TableMove
from edulink_db.datamove.progress import TableResult
from edulink_db.datamove.runrecord import RunRecord, act_as, fetch_runs, insert_run, lock_key
from edulink_db.datamove.sessions import MoveSessions
from edulink_db.datamove.verify import (
    Checksum,
    fetch_checksum,
    legacy_checksum_sql,
    pin_settings,
    target_checksum_sql,
)

CHUNK = 256 * 1024
_COPY_LINE = re.compile(r"\bline (\d+)")
_ROLLED_BACK = "the table's transaction was rolled back, nothing of it was kept"


class _LegacyFailed(Exception):
    """A psycopg error raised by the legacy side of the stream."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


def copy_table(
    sessions: MoveSessions,
    checksummer: psycopg.Connection[Any],
    plan: MovePlan,
    move: TableMove,
    rows: int,
) -> TableResult:
    """Copy, verify and record `move`; raise DataMoveError after rolling the table back.

    The legacy session streams the rows, `checksummer` (a second session on the same
    snapshot) computes the legacy checksum meanwhile; `rows` is the legacy count, for
    progress.
    """
    source, target, progress = sessions.source, sessions.target, sessions.progress
    clock = time.monotonic()
    progress.start(str(move.target), rows)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="legacy-checksum") as pool:
        legacy: Future[Checksum] | None = None
        try:
            with target.transaction():
                target.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(plan.schema),))
                act_as(target, plan.group_role)
                pin_settings(target)
                if move.name in fetch_runs(target, plan.schema):
                    result = TableResult(str(move.target), str(move.legacy), 0, "", 0.0, True)
                    progress.finish(result)
                    return result
                _take_table(target, move)
                row = target.execute("SELECT now()").fetchone()
                assert row is not None
                started_at = row[0]
                legacy = pool.submit(_legacy_checksum, checksummer, move)
                copied = _stream(sessions, move)
                written = fetch_checksum(target, target_checksum_sql(move))
                try:
                    expected = legacy.result()
                except psycopg.Error as error:
                    raise _LegacyFailed(error) from error
                if copied != expected.rows or written != expected:
                    raise DataMoveError(
                        f"{move.target}: verification failed: {move.legacy} has {expected}, the "
                        f"copy sent {copied} rows and the target holds {written}; {_ROLLED_BACK}"
                    )
                _finish_table(target, plan, move, written, started_at)
        except _LegacyFailed as failed:
            _stop(checksummer, legacy)
            raise DataMoveError(_describe_legacy(source, move, failed.error)) from failed.error
        except psycopg.Error as error:
            _stop(checksummer, legacy)
            raise DataMoveError(_describe_target(sessions, move, error)) from error
        except BaseException:
            _stop(checksummer, legacy)
            raise
    result = TableResult(
        str(move.target), str(move.legacy), written.rows, written.digest, time.monotonic() - clock
    )
    progress.finish(result)
    return result


def _legacy_checksum(checksummer: psycopg.Connection[Any], move: TableMove) -> Checksum:
    with checksummer.transaction():  # a savepoint: the session's snapshot stays usable
        return fetch_checksum(checksummer, legacy_checksum_sql(move))


def _stop(checksummer: psycopg.Connection[Any], legacy: Future[Checksum] | None) -> None:
    """Cancel the legacy checksum if it still runs, and wait for it to end."""
    if legacy is None:
        return
    if not legacy.done():
        with contextlib.suppress(psycopg.Error):  # the session is gone anyway
            checksummer.cancel_safe(timeout=5)
    with contextlib.suppress(Exception):  # the table already failed for a better reason
        legacy.result(timeout=30)


def _take_table(target: psycopg.Connection[Any], move: TableMove) -> None:
    """Lock the table against writers and check it is still empty."""
    name = move.target.identifier()
    if move.force_row_security:
        target.execute(sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(name))
    else:
        target.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(name))
    row = target.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(name)).fetchone()
    if row and row[0]:
        raise DataMoveError(
            f"{move.target} received rows since the pre-flight; the data move only fills "
            "empty tables, and nothing of it was written"
        )


def _stream(sessions: MoveSessions, move: TableMove) -> int:
    """COPY the legacy rows into the target; the server's row count of the COPY."""
    copy_in = sql.SQL("COPY {} ({}) FROM STDIN").format(
        move.target.identifier(), move.target_columns()
    )
    sent = 0
    with sessions.target.cursor() as writing:
        with (
            writing.copy(copy_in) as target_rows,
            _LegacyReader(sessions.source, move) as chunks,
        ):
            for buffer in chunks:
                target_rows.write(buffer)
                # In COPY's text format a row ends with a newline and a newline inside a
                # value is escaped, so this counts rows exactly.
                rows = buffer.count(b"\n")
                sessions.progress.advance(rows)
                sent += rows
        # The server's own count (COPY's command tag) when psycopg reports it.
        return writing.rowcount if writing.rowcount >= 0 else sent


class _Stopped(Exception):
    """The writer stopped reading: the reader ends its COPY."""


class _LegacyReader:
    """The legacy COPY, read in its own thread a few buffers ahead of the writer.

    The legacy server, this process and the target then work at the same time, as the two
    processes of a shell pipeline do. At most QUEUED buffers of CHUNK bytes wait, so memory
    stays bounded whatever the table's size. A legacy error reaches the writer as
    _LegacyFailed; when the writer stops first (the target refused a row), the reader's
    COPY is cancelled and the writer's error is the one reported.
    """

    QUEUED = 4

    def __init__(self, source: psycopg.Connection[Any], move: TableMove) -> None:
        self._source = source
        self._copy_out = sql.SQL("COPY ({}) TO STDOUT").format(move.source_select())
        self._queue: queue.Queue[bytearray | BaseException | None] = queue.Queue(self.QUEUED)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="legacy-reader", daemon=True)

    def __enter__(self) -> _LegacyReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a reader waiting to queue a buffer
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def __iter__(self) -> Iterator[bytearray]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: bytearray | BaseException | None) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.05)
                return
        raise _Stopped

    def _run(self) -> None:
        try:
            with (
                self._source.transaction(),  # a savepoint: a failed COPY keeps the snapshot
                self._source.cursor() as reading,
                reading.copy(self._copy_out) as legacy_rows,
            ):
                buffer = bytearray()
                while data := legacy_rows.read():
                    buffer += data
                    if len(buffer) >= CHUNK:
                        self._put(buffer)
                        buffer = bytearray()
                if buffer:
                    self._put(buffer)
            self._put(None)
        except _Stopped:
            pass
        except psycopg.Error as error:
            with contextlib.suppress(_Stopped):
                self._put(_LegacyFailed(error))
        except BaseException as error:  # pragma: no cover - handed to the writer to raise
            with contextlib.suppress(_Stopped):
                self._put(error)


def _finish_table(
    target: psycopg.Connection[Any],
    plan: MovePlan,
    move: TableMove,
    written: Checksum,
    started_at: Any,
) -> None:
    """Sequences past the copied maximum, FORCE back on, and the run record."""
    for column, sequence in move.sequences:
        target.execute(
            sql.SQL(
                "SELECT setval(format('%%I.%%I', %s::text, %s::text)::regclass, max({column}))"
                " FROM {table} HAVING max({column}) IS NOT NULL"
            ).format(column=sql.Identifier(column), table=move.target.identifier()),
            (sequence.schema, sequence.name),
        )
    if move.force_row_security:
        target.execute(
            sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(move.target.identifier())
        )
    insert_run(
        target,
        plan.schema,
        RunRecord(
            service=plan.service,
            table_name=move.name,
            legacy_table=str(move.legacy),
            rows=written.rows,
            checksum=written.digest,
            mapping_digest=move.mapping_digest,
            started_at=started_at,
            finished_at=started_at,  # the INSERT writes clock_timestamp()
        ),
    )


def _interrupted(move: TableMove, side: str, error: psycopg.Error) -> str:
    lost = error.diag.message_primary or (str(error).splitlines() or ["?"])[0]
    return (
        f"{move.target}: the copy was interrupted: the {side} connection was lost ({lost}); "
        f"{_ROLLED_BACK}. Run again with --resume to continue"
    )


def _describe_legacy(source: psycopg.Connection[Any], move: TableMove, error: psycopg.Error) -> str:
    if source.broken or isinstance(error, psycopg.OperationalError):
        return _interrupted(move, "legacy", error)
    column, failure = failing_column(source, move, error)
    where = f" {column.location}" if column else ""
    return (
        f"{move.target}: a legacy row fails{where}: {failure}; {_ROLLED_BACK}. Fix the mapping "
        "or the row (--dry-run finds every failing column), then run again with --resume"
    )


def _describe_target(sessions: MoveSessions, move: TableMove, error: psycopg.Error) -> str:
    """What failed, without DETAIL or CONTEXT (they quote whole rows, secrets included)."""
    source, target = sessions.source, sessions.target
    if target.broken or isinstance(error, psycopg.OperationalError):
        side = "legacy" if source.broken and not target.broken else "target"
        return _interrupted(move, side, error)
    diag = error.diag
    found = _COPY_LINE.search(diag.context or "")
    where = f" at row {found.group(1)} of the copy" if found else ""
    failure = reason(error, withhold=diag.column_name in move.secret_columns)
    return f"{move.target}: the copy failed{where}: {failure}; {_ROLLED_BACK}"
