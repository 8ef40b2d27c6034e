"""`restore_service`: open and check a backup file, then restore it into a scratch database
(the drill) or in place (the platform's own schema, other services untouched)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from edulink_db.backup.archive import ArchiveReader, BackupError
from edulink_db.backup.manifest import Manifest
from edulink_db.backup.session import connect, reason
from edulink_db.dsn import describe_dsn

if TYPE_CHECKING:
    from edulink_db.backup.definitions import LeftOut
    from edulink_db.backup.in_place import InPlaceResult

# Each way imports its own module when it runs: a drill does not pay for the in-place
# restore's checks, an in-place restore not for pglast (benchmarks/backup_restore).

APPLICATION_NAME = "edulink-db restore"
LOCK_TIMEOUT = "10s"  # the CLI's default too


@dataclass(frozen=True)
class RestoreRequest:
    service: str
    source: Path
    dsn: str
    in_place: bool = False
    lock_timeout: str = LOCK_TIMEOUT

    def __repr__(self) -> str:  # the DSN may hold a password
        return f"RestoreRequest(service={self.service!r}, in_place={self.in_place})"


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    target: str  # user@host:port/db, without the password
    in_place: bool
    seconds: float
    left_out: tuple[LeftOut, ...] = ()
    in_place_result: InPlaceResult | None = field(default=None)


def restore_service(request: RestoreRequest) -> RestoreReport:
    """Raise ValidationFailed (refused, nothing changed) or BackupError (failed and rolled
    back, nothing changed)."""
    started = time.monotonic()
    reader = ArchiveReader(request.source)
    try:
        manifest = reader.manifest
        if manifest.service != request.service:
            raise BackupError(
                f"{request.source} is a backup of {manifest.service}, not {request.service}"
            )
        if request.in_place:
            # Refused before a lock is taken on the platform's tables.
            reader.check()
        # A drill checks each member's SHA-256 as it streams, inside its one transaction
        # (ArchiveReader.chunks raises after a member's last chunk, before the commit): a
        # damaged file rolls the drill back, and the file is read once instead of twice.
        where = describe_dsn(request.dsn)
        try:
            with connect(request.dsn, APPLICATION_NAME) as conn:
                if request.in_place:
                    from edulink_db.backup.in_place import restore_in_place

                    result = restore_in_place(conn, reader, request.lock_timeout)
                    return RestoreReport(
                        manifest, where, True, time.monotonic() - started, in_place_result=result
                    )
                from edulink_db.backup.scratch import restore_scratch

                left_out = restore_scratch(conn, reader)
                return RestoreReport(
                    manifest, where, False, time.monotonic() - started, tuple(left_out)
                )
        except psycopg.Error as error:
            raise BackupError(
                f"the restore of {request.service} into {where} failed: {reason(error)}; "
                "its transaction was rolled back, nothing was changed"
            ) from error
    finally:
        reader.close()
