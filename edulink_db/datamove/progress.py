"""How a data move reports what it is doing, without printing: the CLI draws it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TableResult:
    table: str  # qualified target table
    legacy_table: str
    rows: int
    checksum: str
    seconds: float
    skipped: bool = False  # verified by an earlier run (--resume)


class Progress(Protocol):
    def phase(self, text: str) -> None:
        """A step that has no row count, e.g. a pre-flight check."""

    def start(self, table: str, rows: int) -> None:
        """A table's copy begins; `rows` is the legacy count from the pre-flight scan."""

    def advance(self, rows: int) -> None:
        """`rows` more rows of the current table were sent."""

    def finish(self, result: TableResult) -> None:
        """The table was copied, verified and recorded (or skipped)."""


class NoProgress:
    """Reports nothing."""

    def phase(self, text: str) -> None:
        pass

    def start(self, table: str, rows: int) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass

    def finish(self, result: TableResult) -> None:
        pass
