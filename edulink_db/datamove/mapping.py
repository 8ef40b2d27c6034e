"""legacy/<service>.yaml: where each table of a service's schema takes its rows from.

```yaml
version: 1
legacy_schema: public              # the schema of the legacy database (default: public)
skip_tables: [django_migrations]   # legacy tables deliberately left behind
tables:
  users:                           # a table of the service's schema (catalogue.yaml)
    from: auth_user                # the legacy table (a rename)
    columns:                       # every target column that gets a legacy value
      id: id                       #   the legacy column of that name
      last_login_at: last_login    #   a renamed column
      email: {sql: "lower(btrim(email))"}   # one SQL expression over the legacy row
    drop: [username]               # legacy columns deliberately not copied
```

Target columns not listed keep their default. Every legacy column must be read by some
mapping of its table or listed in `drop`, and every legacy table must be mapped or skipped,
so nothing is left behind by accident (the pre-flight checks that against the live database).

The models check one value at a time; `check_mapping` relates the file to the catalogue and
the migrations, and reports every problem at once with its `file:line:column`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edulink_db.catalogue.load import LoadedCatalogue
from edulink_db.catalogue.model import ResolvedService
from edulink_db.datamove.expression import Transform, TransformError, parse_transform
from edulink_db.errors import Issue, ValidationFailed, ensure_no_issues
from edulink_db.identifiers import Identifier
from edulink_db.migrations.ddl import Table
from edulink_db.validation import pydantic_issues
from edulink_db.yamlsource import PathKey, YamlSource, load_yaml

MAPPING_DIR = "legacy"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSource(_Strict):
    """A legacy column (`email`, or `{column: email}`) or one expression (`{sql: ...}`)."""

    column: Identifier | None = None
    sql: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"column": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> ColumnSource:
        if (self.column is None) == (self.sql is None):
            raise ValueError("give either a legacy column or {sql: <expression>}, not both")
        return self


class TableMapping(_Strict):
    legacy_table: Identifier = Field(alias="from")
    columns: dict[Identifier, ColumnSource] = Field(min_length=1)
    drop: tuple[Identifier, ...] = ()


class LegacyMapping(_Strict):
    version: int = Field(ge=1, le=1)
    legacy_schema: Identifier = "public"
    skip_tables: tuple[Identifier, ...] = ()
    tables: dict[Identifier, TableMapping] = Field(min_length=1)


@dataclass(frozen=True)
class ColumnMapping:
    """One target column and the SQL that computes it from the legacy row."""

    target: str
    legacy_column: str | None  # a plain column; None for a transform
    transform: Transform | None
    reads: tuple[str, ...]  # the legacy columns the value depends on


@dataclass(frozen=True)
class LoadedMapping:
    service: ResolvedService
    file: str
    source: YamlSource
    mapping: LegacyMapping
    columns: dict[str, tuple[ColumnMapping, ...]]  # per target table, in file order

    def issue(self, path: PathKey, message: str) -> Issue:
        return self.source.issue(path, message)

    def digest(self, table: str) -> str:
        """What identifies a table's mapping in the run record: its legacy table, columns and
        canonical transforms. Comments and formatting do not change it."""
        spec = self.mapping.tables[table]
        text = json.dumps(
            {
                "schema": self.mapping.legacy_schema,
                "from": spec.legacy_table,
                "columns": [
                    [c.target, c.legacy_column, c.transform.sql if c.transform else None]
                    for c in self.columns[table]
                ],
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()


def mapping_path(root: Path, service: str, directory: Path | None = None) -> Path:
    return (directory or root / MAPPING_DIR) / f"{service}.yaml"


def load_mapping(
    root: Path, service: str, loaded: LoadedCatalogue, directory: Path | None = None
) -> LoadedMapping:
    """Load and check `legacy/<service>.yaml`; raise ValidationFailed listing every problem."""
    if service not in loaded.services:
        raise ValidationFailed(
            [
                Issue(
                    "catalogue.yaml",
                    "services",
                    f"unknown service {service!r}; known: {', '.join(sorted(loaded.services))}",
                )
            ]
        )
    path = mapping_path(root, service, directory)
    display = f"{MAPPING_DIR}/{path.name}" if directory is None else str(path)
    if not path.is_file():
        raise ValidationFailed(
            [Issue(display, "", f"no mapping file for {service}; write {display} first")]
        )
    source = load_yaml(path, display)
    try:
        mapping = LegacyMapping.model_validate(source.data)
    except ValidationError as error:
        ensure_no_issues(pydantic_issues(error, source.issue))
        raise  # pragma: no cover - pydantic never raises without errors
    resolved = loaded.services[service]
    issues: list[Issue] = []
    columns: dict[str, tuple[ColumnMapping, ...]] = {}
    for table, spec in mapping.tables.items():
        found, problems = _column_mappings(source, table, spec)
        columns[table] = found
        issues += problems
    loaded_mapping = LoadedMapping(resolved, display, source, mapping, columns)
    issues += check_mapping(loaded_mapping, loaded.shapes[service].tables)
    ensure_no_issues(issues)
    return loaded_mapping


def check_mappings(root: Path, loaded: LoadedCatalogue) -> tuple[list[str], list[Issue]]:
    """Every `legacy/*.yaml` of the project checked as `migrate-data` would load it, so a bad
    mapping is found by `edulink-db validate` in review, not on the day of the move.
    Returns the services whose mapping is valid, and every problem of the others."""
    folder = root / MAPPING_DIR
    valid: list[str] = []
    issues: list[Issue] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        service = path.stem
        if service not in loaded.services:
            known = ", ".join(sorted(loaded.services))
            issues.append(
                Issue(f"{MAPPING_DIR}/{path.name}", "", f"no service {service!r}; known: {known}")
            )
            continue
        try:
            load_mapping(root, service, loaded)
        except ValidationFailed as failed:
            issues += failed.issues
        else:
            valid.append(service)
    return valid, issues


def _column_mappings(
    source: YamlSource, table: str, spec: TableMapping
) -> tuple[tuple[ColumnMapping, ...], list[Issue]]:
    found: list[ColumnMapping] = []
    issues: list[Issue] = []
    for target, column in spec.columns.items():
        if column.column is not None:
            found.append(ColumnMapping(target, column.column, None, (column.column,)))
            continue
        assert column.sql is not None
        try:
            transform = parse_transform(column.sql)
        except TransformError as error:
            issues.append(source.issue(("tables", table, "columns", target, "sql"), str(error)))
            continue
        found.append(ColumnMapping(target, None, transform, transform.columns))
    return tuple(found), issues


def check_mapping(loaded: LoadedMapping, tables: dict[str, Table]) -> list[Issue]:
    """Relate the mapping to the service's tables as its migrations build them."""
    return [*_check_targets(loaded, tables), *_check_legacy_names(loaded)]


def _check_targets(loaded: LoadedMapping, tables: dict[str, Table]) -> Iterator[Issue]:
    service = loaded.service
    for name, spec in loaded.mapping.tables.items():
        path: PathKey = ("tables", name)
        table = tables.get(name)
        if table is None or name not in service.tables:
            known = ", ".join(sorted(service.tables))
            yield loaded.issue(path, f"unknown table {service.schema_name}.{name}; known: {known}")
            continue
        for target in spec.columns:
            if target not in table.columns:
                yield loaded.issue(
                    (*path, "columns", target),
                    f"unknown column {service.schema_name}.{name}.{target}; "
                    f"known: {', '.join(table.columns)}",
                )


def _check_legacy_names(loaded: LoadedMapping) -> Iterator[Issue]:
    mapping = loaded.mapping
    mapped_legacy = {spec.legacy_table for spec in mapping.tables.values()}
    for index, skipped in enumerate(mapping.skip_tables):
        if skipped in mapped_legacy:
            yield loaded.issue(
                ("skip_tables", index), f"legacy table {skipped!r} is mapped; it cannot be skipped"
            )
    for name, spec in mapping.tables.items():
        reads = {c for column in loaded.columns.get(name, ()) for c in column.reads}
        for index, dropped in enumerate(spec.drop):
            if dropped in reads:
                yield loaded.issue(
                    ("tables", name, "drop", index),
                    f"legacy column {dropped!r} is read by this mapping; it cannot be dropped",
                )
        if len(set(spec.drop)) != len(spec.drop):
            yield loaded.issue(("tables", name, "drop"), "a column is listed twice")
