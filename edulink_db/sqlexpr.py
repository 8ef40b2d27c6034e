"""One SQL expression, parsed with pglast: the shared first step of policy comparison and
data-move transforms, so both refuse the same smuggled statements the same way."""

from __future__ import annotations

from typing import Any

import pglast
from pglast import ast, visitors

_CLAUSES = (
    "fromClause",
    "whereClause",
    "groupClause",
    "havingClause",
    "sortClause",
    "limitCount",
    "limitOffset",
    "windowClause",
    "distinctClause",
    "withClause",
    "intoClause",
    "valuesLists",
    "lockingClause",
)


class NotOneExpression(ValueError):
    """The text does not parse, or parses as more than one expression."""


def parse_one_expression(text: str) -> Any:
    """The parse tree of `text` as the single target of a bare SELECT; a second statement,
    a FROM, an alias or any other clause smuggled in is refused."""
    if not text.strip():
        raise NotOneExpression("is empty")
    try:
        statements = pglast.parse_sql(f"SELECT {text}")
    except pglast.parser.ParseError as error:
        raise NotOneExpression(f"does not parse: {error.args[0]}") from error
    select = statements[0].stmt if len(statements) == 1 else None
    if (
        not isinstance(select, ast.SelectStmt)
        or select.targetList is None
        or len(select.targetList) != 1
        or any(getattr(select, clause) is not None for clause in _CLAUSES)
        or select.op != pglast.enums.SetOperation.SETOP_NONE
    ):
        raise NotOneExpression("must be exactly one expression")
    target = select.targetList[0]
    if target.name is not None:
        raise NotOneExpression("must be exactly one expression (no alias)")
    if _is_star(target.val):
        raise NotOneExpression("must be exactly one expression")  # `*` lists columns
    return target.val


def names_a_column(node: Any) -> bool:
    """Whether a column is referenced anywhere in `node` (a call whose arguments name one
    differs from row to row)."""
    found = False

    class _Find(visitors.Visitor):
        def visit_ColumnRef(self, ancestors: Any, ref: ast.ColumnRef) -> None:
            nonlocal found
            found = True

    _Find()(node)
    return found


def _is_star(node: Any) -> bool:
    if not isinstance(node, ast.ColumnRef):
        return False
    fields = tuple(node.fields or ())
    return len(fields) == 1 and isinstance(fields[0], ast.A_Star)
