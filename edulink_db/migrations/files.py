"""Migration files on disk: `migrations/<service>/NNNN_<name>.sql`."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from edulink_db.errors import Issue

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Step:
    """What the runner needs of a file; plain values, so it travels inside a Pulumi input."""

    version: int
    name: str
    checksum: str
    sql: str

    @property
    def file_name(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(frozen=True)
class MigrationFile:
    """One migration; the checksum is what makes an edited, already-applied file detectable."""

    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def file_name(self) -> str:
        return self.path.name

    def step(self) -> Step:
        return Step(self.version, self.name, self.checksum, self.sql)


def discover_migrations(
    root: Path, service: str, display_root: str = "migrations"
) -> tuple[list[MigrationFile], list[Issue]]:
    """The service's files in version order, and every naming problem found on the way."""
    folder = root / service
    where = f"{display_root}/{service}"
    if not folder.is_dir():
        return [], [Issue(where, "", "no migration folder for this service")]
    files: list[MigrationFile] = []
    issues: list[Issue] = []
    seen: dict[int, str] = {}
    for path in sorted(folder.iterdir()):
        match = _FILE_NAME.match(path.name)
        if not match:
            issues.append(
                Issue(f"{where}/{path.name}", "", "expected a name like 0001_baseline.sql")
            )
            continue
        version = int(match["version"])
        if version in seen:
            issues.append(
                Issue(f"{where}/{path.name}", "", f"version {version:04d} is also {seen[version]}")
            )
            continue
        seen[version] = path.name
        files.append(MigrationFile(version, match["name"], path, path.read_text(encoding="utf-8")))
    if not files and not issues:
        issues.append(Issue(where, "", "the folder holds no migration"))
    return files, issues
