"""Column transforms and type names, parsed with pglast and emitted from the parse tree.

A transform is one SQL expression over the legacy row (`lower(btrim(email))`). What reaches
the legacy server is never the text of the mapping file but the deparsed tree of exactly one
expression, like the policy expressions of `rowpolicy`: a second statement, a
sub-query or a reference to another table does not parse as a transform and is refused.

Type names come from the target's catalog (`format_type`) and go through the same parser
before they are used in a cast, so no SQL is ever built by pasting text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast, visitors
from pglast.stream import RawStream

from edulink_db.sqlexpr import NotOneExpression, parse_one_expression


class TransformError(ValueError):
    """The text is not one expression a transform may be."""


@dataclass(frozen=True)
class Transform:
    """A parsed transform: its canonical SQL, the legacy columns it reads and the functions
    it calls (checked against the legacy server's catalog for volatility)."""

    sql: str
    columns: tuple[str, ...]
    functions: tuple[str, ...]


def parse_transform(text: str) -> Transform:
    try:
        value = parse_one_expression(text)
    except NotOneExpression as error:
        raise TransformError(str(error)) from error
    finder = _Inspect()
    finder(value)
    if finder.problem:
        raise TransformError(finder.problem)
    return Transform(
        sql=str(RawStream()(value)),
        columns=tuple(dict.fromkeys(finder.columns)),
        functions=tuple(sorted(set(finder.functions))),
    )


class _Inspect(visitors.Visitor):
    def __init__(self) -> None:
        self.columns: list[str] = []
        self.functions: list[str] = []
        self.problem: str | None = None

    def _refuse(self, problem: str) -> Any:
        self.problem = self.problem or problem
        return visitors.Skip

    def visit_SubLink(self, ancestors: Any, node: ast.SubLink) -> Any:
        return self._refuse("may not contain a sub-query: a transform sees only its own row")

    def visit_ParamRef(self, ancestors: Any, node: ast.ParamRef) -> Any:
        return self._refuse("may not contain a parameter ($n)")

    def visit_ColumnRef(self, ancestors: Any, node: ast.ColumnRef) -> Any:
        fields = node.fields or ()
        name = fields[0].sval if len(fields) == 1 and isinstance(fields[0], ast.String) else None
        if name is None:
            text = ".".join(getattr(f, "sval", None) or "*" for f in fields)
            return self._refuse(
                f"may only name columns of its own legacy row, without a table: {text!r}"
            )
        self.columns.append(name)
        return None

    def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> Any:
        if node.over is not None:
            return self._refuse("may not call a window function")
        if node.agg_star or node.agg_distinct or node.agg_order or node.agg_filter:
            return self._refuse("may not call an aggregate")
        names = [part.sval for part in node.funcname or ()]
        if names:
            self.functions.append(names[-1].lower())
        return None


def render_type_name(text: str) -> str:
    """The canonical SQL of one type name, e.g. from `format_type()`: `numeric(5, 2)`."""
    try:
        cast = parse_one_expression(f"NULL::{text}")
    except NotOneExpression as error:
        raise TransformError(f"{text!r} is not a type name") from error
    if (
        not isinstance(cast, ast.TypeCast)
        or not isinstance(cast.arg, ast.A_Const)
        or cast.typeName is None
    ):
        raise TransformError(f"{text!r} is not a type name")
    return str(RawStream()(cast.typeName))
