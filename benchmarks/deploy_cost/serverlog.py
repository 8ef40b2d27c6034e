"""Count what reaches the server: every statement of the admin's sessions, from its own log.

The benchmark turns on `log_statement = 'all'` for the admin role only (ALTER ROLE ... SET),
with a log_line_prefix that names the process, user and database. Each logged entry is one
client round trip: a simple query (possibly a whole migration file) or one extended-protocol
execute (Parse/Bind/Execute/Sync are sent together). Continuation lines of multi-line
statements and DETAIL lines belong to the entry above them.

Passwords: the server log holds `CREATE ROLE ... PASSWORD '...'` in clear. It stays in the
cluster's temporary directory, which is deleted when the cluster stops; nothing here prints
or stores statement text that contains PASSWORD.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

LOG_LINE_PREFIX = "%m [%p] %u@%d "
_ENTRY = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(?P<pid>\d+)\] (?P<user>[^@ ]*)@(?P<db>\S*) "
    r"(?P<level>[A-Z]+):  (?P<text>.*)$"
)
_STATEMENT = re.compile(r"^(?:statement|execute [^:]*): (?P<sql>.*)$", re.DOTALL)


@dataclass
class Entry:
    pid: int
    user: str
    db: str
    sql: str


@dataclass
class Traffic:
    """What one resource (or one script) sent to the server."""

    entries: list[Entry] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        return len(self.entries)

    @property
    def connections(self) -> int:
        return len({e.pid for e in self.entries})

    @property
    def transaction_control(self) -> int:
        return sum(1 for e in self.entries if _keyword(e.sql) in {"BEGIN", "COMMIT", "ROLLBACK"})

    @property
    def statements(self) -> int:
        """Round trips that are not BEGIN/COMMIT/ROLLBACK."""
        return self.round_trips - self.transaction_control

    @property
    def transactions(self) -> int:
        """BEGIN..COMMIT blocks plus statements run outside one (autocommit: one each)."""
        count = 0
        open_by_pid: dict[int, bool] = {}
        for entry in self.entries:
            keyword = _keyword(entry.sql)
            if keyword == "BEGIN":
                open_by_pid[entry.pid] = True
            elif keyword in {"COMMIT", "ROLLBACK"}:
                open_by_pid[entry.pid] = False
                count += 1
            elif not open_by_pid.get(entry.pid):
                count += 1
        return count

    def safe_sql(self) -> list[str]:
        return [
            "<redacted: carries a password>" if "PASSWORD" in e.sql else e.sql for e in self.entries
        ]


def _keyword(text: str) -> str:
    return text.strip().split(None, 1)[0].upper().rstrip(";") if text.strip() else ""


def parse(chunk: str, user: str, database: str) -> Traffic:
    """The statements `user` ran in `database` in a piece of the server log."""
    traffic = Traffic()
    current: Entry | None = None
    for line in chunk.splitlines():
        match = _ENTRY.match(line)
        if match is None:
            if current is not None:
                current.sql += "\n" + line
            continue
        current = None
        if match["level"] != "LOG" or match["user"] != user or match["db"] != database:
            continue
        statement = _STATEMENT.match(match["text"])
        if statement is None:
            continue
        current = Entry(int(match["pid"]), match["user"], match["db"], statement["sql"])
        traffic.entries.append(current)
    return traffic


class LogTail:
    """Read what was appended to the server log since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def read(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            data = log.read()
        self.offset += len(data)
        return data.decode("utf-8", errors="replace")


def total(traffics: Iterable[Traffic]) -> Traffic:
    merged = Traffic()
    for traffic in traffics:
        merged.entries += traffic.entries
    return merged
