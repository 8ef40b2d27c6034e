"""One SQL expression, parsed with pglast: the shared first step of policy comparison and
data-move transforms, so both refuse the same smuggled statements the same way."""

from __future__ import annotations

from typing import Any

import pglast
from pglast import ast

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
    return target.val
