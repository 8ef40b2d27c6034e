"""Row-level security policies as the compiler writes them: the canonical SQL of their
expressions and the names of the policies it generates.

Below the catalogue and the plan, so that validating (`catalogue.checks`), compiling
(`plan.compile`) and applying (`rls`) read one definition of both.

What reaches the database is never the text a user wrote but the deparsed tree of exactly
one expression (`sqlexpr.parse_one_expression`, the parser data-move transforms use too):
`true) ; drop table x; --` does not parse as a single expression and is refused, and dollar
quotes or comments cannot smuggle a second statement through.

Calls that do not depend on the row (`current_setting(...)`, `auth.uid()`) are wrapped as
`(SELECT ...)`, so PostgreSQL evaluates them once per statement (an InitPlan) instead of once
per row — the Supabase linter's auth_rls_initplan rule, and orders of magnitude on big tables.
"""

from __future__ import annotations

from typing import Any, Protocol

from pglast import ast, enums, visitors
from pglast.stream import RawStream

from edulink_db.sqlexpr import NotOneExpression, names_a_column, parse_one_expression

PER_STATEMENT_FUNCTIONS = frozenset(
    {
        "current_setting",
        "pg_catalog.current_setting",
        "auth.uid",
        "auth.jwt",
        "auth.role",
        "auth.email",
    }
)


class ExpressionError(ValueError):
    """The text is not one valid SQL expression."""


def render_expression(text: str) -> str:
    """The canonical SQL of one boolean expression, with per-statement calls wrapped."""
    try:
        tree = parse_one_expression(text)
    except NotOneExpression as error:
        raise ExpressionError(str(error)) from error
    _WrapPerStatementCalls()(tree)
    return str(RawStream()(tree))


def per_statement_call(node: ast.FuncCall) -> str | None:
    """The name `node` calls when PostgreSQL need evaluate it only once per statement (one of
    PER_STATEMENT_FUNCTIONS, with no column among its arguments), else None."""
    name = ".".join(part.sval for part in node.funcname or ())
    if name not in PER_STATEMENT_FUNCTIONS or names_a_column(node):
        return None
    return name


def per_row_calls(text: str | None) -> list[str]:
    """The calls in a policy expression that PostgreSQL evaluates once per row although their
    value is the same for the whole statement, sorted: each `per_statement_call` outside any
    sub-select — exactly the calls `render_expression` wraps. Names are compared as
    PostgreSQL resolves them: `AUTH.UID()` is auth.uid(), a quoted `"AUTH"."UID"()` is
    another function.

    The one reading of splinter 0003 (auth_rls_initplan): the policy pack (RL06, at preview)
    and the audit (RL06, on the live database) both call it. Raises ExpressionError if the
    text is not one expression."""
    if not text:
        return []
    try:
        tree = parse_one_expression(text)
    except NotOneExpression as error:
        raise ExpressionError(str(error)) from error
    found: set[str] = set()

    class _Find(visitors.Visitor):
        def visit_SubLink(self, ancestors: Any, node: ast.SubLink) -> Any:
            return visitors.Skip  # evaluated as its own plan, once per statement

        def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:
            name = per_statement_call(node)
            if name is not None:
                found.add(f"{name}()")

    _Find()(tree)
    return sorted(found)


class _WrapPerStatementCalls(visitors.Visitor):
    def visit_SubLink(self, ancestors: Any, node: ast.SubLink) -> Any:
        return visitors.Skip  # already a sub-select: evaluated as its own plan

    def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> Any:
        if per_statement_call(node) is None:
            return None
        return ast.SubLink(
            subLinkType=enums.SubLinkType.EXPR_SUBLINK,
            subselect=ast.SelectStmt(
                targetList=(ast.ResTarget(val=node),),
                limitOption=enums.LimitOption.LIMIT_OPTION_DEFAULT,
                op=enums.SetOperation.SETOP_NONE,
            ),
        )


class HasGroupRole(Protocol):
    """A service, as far as naming its generated policies goes."""

    @property
    def group_role(self) -> str: ...


def owner_policy_name(service: HasGroupRole) -> str:
    return f"{service.group_role}_all"


def reader_policy_name(consumer: HasGroupRole) -> str:
    return f"{consumer.group_role}_read"
