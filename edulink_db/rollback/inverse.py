"""The inverse of a legacy mapping: for each legacy column, the SQL over the service's row
that gives its value back, and how faithfully. Pure.

A mapping is a function legacy row → service row; only some of it can run backwards:

| mapping of a target column       | inverse, for the legacy column  | fidelity            |
|----------------------------------|---------------------------------|---------------------|
| `x` (a legacy column, renamed)   | the value                       | exact               |
| `CASE x WHEN 'a' THEN 'b' … END` | `CASE v WHEN 'b' THEN 'a' … END` | exact (1)          |
| `nullif(x, 'c')`                 | `coalesce(v, 'c')`              | reversed (2)        |
| `lower(x)`, `upper`, `btrim`, …  | the value, normalised           | normalised          |
| `x::type`                        | the value's text                | normalised          |
| anything else (several columns, a searched CASE, arithmetic) | none | not invertible  |

(1) distinct results, and no ELSE other than `x` itself. (2) exact where x was never NULL.

Legacy columns in `drop`, read only by a transform that cannot be inverted, and legacy
tables in `skip_tables` do not come back; the plan lists them. What comes back is verified
by running the ORIGINAL mapping over the rolled-back rows and comparing its checksum with
the service's table: the rollback then holds everything the service's data was made from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pglast import ast
from pglast.enums import A_Expr_Kind
from psycopg import sql

from edulink_db.datamove.mapping import ColumnMapping, LoadedMapping
from edulink_db.sqlexpr import NotOneExpression, parse_one_expression

Fidelity = Literal["exact", "reversed", "normalised"]
NORMALISING = frozenset({"lower", "upper", "btrim", "trim", "ltrim", "rtrim", "initcap"})
_RANK: dict[str, int] = {"exact": 0, "reversed": 1, "normalised": 2}
_KINDS = {
    "A_Expr": "an operator",
    "CaseExpr": "a searched CASE",
    "CoalesceExpr": "coalesce()",
    "BoolExpr": "a boolean expression",
    "A_Const": "a constant",
    "SubLink": "a sub-select",
}


class NotInvertible(Exception):
    """The transform has no inverse; the message says which part."""


@dataclass(frozen=True)
class InverseColumn:
    legacy: str  # the legacy column
    target: str  # the service's column it comes back from
    value: sql.Composable  # SQL over the service's row: the legacy value
    fidelity: Fidelity
    mapping: str  # the mapping, as written, for reports


@dataclass(frozen=True)
class InverseTable:
    target: str  # the service's table
    legacy: str  # the legacy table
    columns: tuple[InverseColumn, ...]
    lost: tuple[tuple[str, str], ...]  # legacy columns that do not come back, and why

    @property
    def restored(self) -> set[str]:
        return {c.legacy for c in self.columns}


@dataclass(frozen=True)
class InversePlan:
    service: str
    schema: str
    legacy_schema: str
    tables: tuple[InverseTable, ...]  # in the mapping file's order
    skipped: tuple[str, ...]  # legacy tables the mapping skipped: they do not come back

    def table(self, target: str) -> InverseTable | None:
        return next((t for t in self.tables if t.target == target), None)


def _literal(node: ast.Node | None) -> sql.Literal:
    if isinstance(node, ast.A_Const) and not node.isnull:
        value = node.val
        if isinstance(value, ast.String):
            return sql.Literal(value.sval)
        if isinstance(value, ast.Integer):
            return sql.Literal(value.ival)
    raise NotInvertible("a constant other than a string or an integer")


def _column(node: ast.Node | None) -> str | None:
    if isinstance(node, ast.ColumnRef) and len(node.fields or ()) == 1:
        field = (node.fields or ())[0]
        return field.sval if isinstance(field, ast.String) else None
    return None


def invert(node: ast.Node | None, value: sql.Composable) -> tuple[str, sql.Composable, Fidelity]:
    """(legacy column, its value as SQL over `value`, fidelity), or NotInvertible."""
    name = _column(node)
    if name is not None:
        return name, value, "exact"
    if isinstance(node, ast.TypeCast):
        column, inner, _ = invert(node.arg, sql.SQL("({})::text").format(value))
        return column, inner, "normalised"
    if isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_NULLIF:
        if isinstance(node.rexpr, tuple):
            raise NotInvertible("nullif() with a list")
        constant = _literal(node.rexpr)
        column, inner, fidelity = invert(
            node.lexpr, sql.SQL("coalesce({}, {})").format(value, constant)
        )
        return column, inner, "reversed" if fidelity == "exact" else fidelity
    if isinstance(node, ast.FuncCall):
        names = [getattr(part, "sval", "") for part in node.funcname or ()]
        if names and names[-1].lower() in NORMALISING and len(node.args or ()) == 1:
            column, inner, _ = invert((node.args or ())[0], value)
            return column, inner, "normalised"
        raise NotInvertible(f"{'.'.join(names)}() has no inverse")
    if isinstance(node, ast.CaseExpr) and node.arg is not None:
        return _invert_case(node, value)
    raise NotInvertible(f"{_KINDS.get(type(node).__name__, 'this expression')} has no inverse")


def _invert_case(node: ast.CaseExpr, value: sql.Composable) -> tuple[str, sql.Composable, Fidelity]:
    """A simple CASE mapping constants to distinct constants, with no ELSE or `ELSE arg`."""
    pairs = []
    for when in node.args or ():
        assert isinstance(when, ast.CaseWhen)
        assert not isinstance(when.expr, tuple) and not isinstance(when.result, tuple)
        pairs.append((_literal(when.expr), _literal(when.result)))
    results = [result.as_string() for _, result in pairs]
    if len(set(results)) != len(results):
        raise NotInvertible("CASE gives the same result for different values")
    identity = (
        node.defresult is not None
        and _column(node.arg) is not None
        and _column(node.defresult) == _column(node.arg)
    )
    if node.defresult is not None and not identity:
        raise NotInvertible("CASE has an ELSE that folds values together")
    inverse = sql.SQL("CASE {} {} ELSE {} END").format(
        value,
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(result, original) for original, result in pairs
        ),
        value if identity else sql.NULL,
    )
    column, inner, fidelity = invert(node.arg, inverse)
    return column, inner, fidelity


def _inverse_column(mapping: ColumnMapping) -> InverseColumn:
    value = sql.Identifier(mapping.target)
    if mapping.transform is None:
        assert mapping.legacy_column is not None
        return InverseColumn(mapping.legacy_column, mapping.target, value, "exact", mapping.target)
    try:
        tree = parse_one_expression(mapping.transform.sql)
    except NotOneExpression as error:  # pragma: no cover - it parsed when the mapping loaded
        raise NotInvertible(str(error)) from error
    column, inner, fidelity = invert(tree, value)
    return InverseColumn(column, mapping.target, inner, fidelity, mapping.transform.sql)


def invert_mapping(loaded: LoadedMapping) -> InversePlan:
    tables: list[InverseTable] = []
    for target, spec in loaded.mapping.tables.items():
        chosen: dict[str, InverseColumn] = {}
        lost: dict[str, str] = {c: "dropped by the mapping" for c in spec.drop}
        for mapping in loaded.columns[target]:
            try:
                column = _inverse_column(mapping)
            except NotInvertible as why:
                text = mapping.transform.sql if mapping.transform else mapping.target
                for legacy in mapping.reads:
                    lost.setdefault(legacy, f"read by {target}.{mapping.target} = {text}: {why}")
                continue
            best = chosen.get(column.legacy)
            if best is None or _RANK[column.fidelity] < _RANK[best.fidelity]:
                chosen[column.legacy] = column
        for legacy in chosen:
            lost.pop(legacy, None)
        tables.append(
            InverseTable(
                target=target,
                legacy=spec.legacy_table,
                columns=tuple(chosen.values()),
                lost=tuple(sorted(lost.items())),
            )
        )
    return InversePlan(
        service=loaded.service.name,
        schema=loaded.service.schema_name,
        legacy_schema=loaded.mapping.legacy_schema,
        tables=tuple(tables),
        skipped=loaded.mapping.skip_tables,
    )
