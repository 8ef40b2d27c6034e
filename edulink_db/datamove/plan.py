"""The mapping + the target's catalog -> what moves where, in foreign-key order. Pure.

Every value leaves the legacy server already cast to its target column's type, so both
servers hold the same typed values: COPY's text is parsed back into exactly what was sent,
and the content checksums of `verify` compare like with like.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from psycopg import sql

from edulink_db.datamove.catalog import ForeignKey, QualifiedName, TargetTable
from edulink_db.datamove.expression import TransformError, render_type_name
from edulink_db.datamove.mapping import ColumnMapping, LoadedMapping
from edulink_db.errors import Issue
from edulink_db.yamlsource import PathKey


@dataclass(frozen=True)
class ColumnMove:
    target: str
    target_type: str  # canonical type name, rendered from its parse tree
    mapping: ColumnMapping
    location: str  # `file:line:column` of its entry in the mapping, for messages

    @property
    def legacy_sql(self) -> sql.Composable:
        """The legacy value, before the cast: a quoted column or the canonical transform."""
        if self.mapping.transform is not None:
            # pglast's rendering of one parsed expression (expression.parse_transform).
            return sql.SQL(self.mapping.transform.sql)
        assert self.mapping.legacy_column is not None
        return sql.Identifier(self.mapping.legacy_column)

    @property
    def source_sql(self) -> sql.Composable:
        """The legacy value as the target column's type."""
        return sql.SQL("CAST(({}) AS {})").format(self.legacy_sql, sql.SQL(self.target_type))

    @property
    def label(self) -> str:
        if self.mapping.transform is not None:
            return self.mapping.transform.sql
        return str(self.mapping.legacy_column)


@dataclass(frozen=True)
class TableMove:
    target: QualifiedName
    legacy: QualifiedName
    columns: tuple[ColumnMove, ...]
    defaults: tuple[str, ...]  # target columns left to their default
    dropped: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    sequences: tuple[tuple[str, QualifiedName], ...]  # column, its sequence
    force_row_security: bool
    binary_rows: bool  # every mapped column has a built-in type: checksum the binary rows
    secret_columns: tuple[str, ...]  # catalogue.yaml: no message may quote their values
    mapping_digest: str
    path: PathKey  # of the table's entry in the mapping file
    already_verified: bool = False

    @property
    def name(self) -> str:
        return self.target.name

    def column(self, name: str) -> ColumnMove | None:
        return next((c for c in self.columns if c.target == name), None)

    def source_select(self) -> sql.Composed:
        """The legacy rows as the target will hold them."""
        return sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(c.source_sql for c in self.columns), self.legacy.identifier()
        )

    def target_columns(self) -> sql.Composed:
        return sql.SQL(", ").join(sql.Identifier(c.target) for c in self.columns)


@dataclass(frozen=True)
class MovePlan:
    service: str
    schema: str
    group_role: str
    legacy_schema: str
    tables: tuple[TableMove, ...]  # this run's tables, parents before children
    unmapped: tuple[str, ...]  # tables of the service no mapping fills

    def table(self, name: str) -> TableMove | None:
        return next((t for t in self.tables if t.name == name), None)


def compile_move(
    loaded: LoadedMapping,
    targets: Mapping[str, TargetTable],
    only: Sequence[str] = (),
    verified: Collection[str] = (),
) -> tuple[MovePlan, list[Issue]]:
    """The plan for the mapped tables (or `only` these), and the problems that keep a table
    out of it: a table or column the target does not have, or a mapped generated column."""
    service = loaded.service
    issues: list[Issue] = []
    wanted = list(loaded.mapping.tables)
    if only:
        for name in only:
            if name not in loaded.mapping.tables:
                issues.append(
                    Issue(
                        loaded.file,
                        "tables",
                        f"--tables names {name!r}, which this file does not map; "
                        f"mapped: {', '.join(wanted)}",
                    )
                )
        wanted = [name for name in wanted if name in only]
    moves: list[TableMove] = []
    for name in wanted:
        target = targets.get(name)
        path: PathKey = ("tables", name)
        if target is None:
            issues.append(
                loaded.issue(
                    path,
                    f"the target has no table {service.schema_name}.{name}: "
                    "deploy the stack (pulumi up) before moving data into it",
                )
            )
            continue
        move, problems = _compile_table(loaded, target, name in verified)
        issues += problems
        if move is not None:
            moves.append(move)
    mapped = set(loaded.mapping.tables)
    plan = MovePlan(
        service=service.name,
        schema=service.schema_name,
        group_role=service.group_role,
        legacy_schema=loaded.mapping.legacy_schema,
        tables=tuple(dependency_order(moves)),
        unmapped=tuple(sorted(t for t in targets if t in service.tables and t not in mapped)),
    )
    return plan, issues


def _compile_table(
    loaded: LoadedMapping, target: TargetTable, verified: bool
) -> tuple[TableMove | None, list[Issue]]:
    name = target.name.name
    spec = loaded.mapping.tables[name]
    path: PathKey = ("tables", name)
    issues: list[Issue] = []
    columns: list[ColumnMove] = []
    for mapping in loaded.columns[name]:
        where = (*path, "columns", mapping.target)
        column = target.columns.get(mapping.target)
        if column is None:
            issues.append(
                loaded.issue(where, f"the target has no column {target.name}.{mapping.target}")
            )
            continue
        if column.generated:
            issues.append(
                loaded.issue(
                    where, f"{target.name}.{column.name} is a generated column: it is computed"
                )
            )
            continue
        try:
            type_name = render_type_name(column.type)
        except TransformError as error:  # pragma: no cover - the catalog's own text
            issues.append(loaded.issue(where, str(error)))
            continue
        place = loaded.issue(where, "")
        location = f"{place.file}:{place.line}:{place.column} ({place.path})"
        columns.append(ColumnMove(column.name, type_name, mapping, location))
    mapped = {c.target for c in loaded.columns[name]}
    for column in target.columns.values():
        needs_value = (
            column.not_null and not column.has_default and not column.identity
        ) and not column.generated
        if needs_value and column.name not in mapped:
            issues.append(
                loaded.issue(
                    (*path, "columns"),
                    f"{target.name}.{column.name} is NOT NULL without a default: map a legacy "
                    "value to it",
                )
            )
    if issues:
        return None, issues
    move = TableMove(
        target=target.name,
        legacy=QualifiedName(loaded.mapping.legacy_schema, spec.legacy_table),
        columns=tuple(columns),
        defaults=tuple(
            c.name for c in target.columns.values() if c.name not in mapped and not c.generated
        ),
        dropped=spec.drop,
        foreign_keys=target.foreign_keys,
        sequences=tuple(
            (c.name, c.sequence)
            for c in target.columns.values()
            if c.sequence is not None and c.name in mapped
        ),
        force_row_security=target.row_security and target.force_row_security,
        binary_rows=all(target.columns[c.target].builtin for c in columns),
        secret_columns=loaded.service.tables[name].secret_columns,
        mapping_digest=loaded.digest(name),
        path=path,
        already_verified=verified,
    )
    return move, []


def dependency_order(moves: Sequence[TableMove]) -> list[TableMove]:
    """Parents before children (foreign keys inside the run); otherwise the file's order.

    A cycle cannot be ordered; its tables keep the file's order, and the copy of the first
    one fails on its foreign key, with the constraint named, rather than being guessed at.
    """
    names = {m.target for m in moves}
    needs = {
        m.target: {
            fk.referenced
            for fk in m.foreign_keys
            if fk.referenced in names and fk.referenced != m.target
        }
        for m in moves
    }
    order: list[TableMove] = []
    done: set[QualifiedName] = set()
    remaining = list(moves)
    while remaining:
        ready = next((m for m in remaining if needs[m.target] <= done), remaining[0])
        order.append(ready)
        done.add(ready.target)
        remaining.remove(ready)
    return order
