"""What a backup holds, as `manifest.json` in the archive: validated before a row is restored.

Tables come parents first (foreign keys inside the schema), which is the order a restore
fills them in. Checksums are the data move's (`datamove.verify`): computed by the server over
each table's columns, in the backup's one snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edulink_db.identifiers import Identifier

FORMAT = "edulink-db service backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnEntry(_Entry):
    name: str
    type: str  # format_type()


class TableEntry(_Entry):
    name: Identifier
    columns: tuple[ColumnEntry, ...] = Field(min_length=1)
    primary_key: tuple[str, ...] = ()
    rows: int = Field(ge=0)
    checksum: str
    binary_rows: bool  # checksummed over record_send (every column of a built-in type)
    # COPY's binary format where every column has a built-in type (no text to format or
    # parse: about a third faster both ways), its text format otherwise
    format: Literal["text", "binary"] = "text"
    file: str
    bytes: int = Field(ge=0)
    sha256: str

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class SequenceEntry(_Entry):
    name: Identifier
    last_value: int | None  # None: never used (nextval gives the start value)


class MigrationEntry(_Entry):
    version: int
    name: str
    checksum: str
    file: str  # the migration's SQL in the archive
    sha256: str


class ReferenceEntry(_Entry):
    """A foreign key of another schema into this one, when the backup was taken."""

    table: str  # schema.table of the referencing table
    constraint: str
    columns: tuple[str, ...]
    references: str  # table of this schema
    referenced_columns: tuple[str, ...]


class Manifest(_Entry):
    format: Literal["edulink-db service backup"]
    version: Literal[1]
    service: Identifier
    schema_name: Identifier
    group_role: Identifier
    created_at: datetime
    server_version: str
    database: str
    catalogue_sha256: str
    git_commit: str | None
    migrations: tuple[MigrationEntry, ...]
    tables: tuple[TableEntry, ...]
    sequences: tuple[SequenceEntry, ...] = ()
    references_in: tuple[ReferenceEntry, ...] = ()

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def table(self, name: str) -> TableEntry | None:
        return next((t for t in self.tables if t.name == name), None)
