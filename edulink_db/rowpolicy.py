"""Row-level security policies as the compiler writes them: the canonical SQL of their
expressions and the names of the policies it generates.

Below the catalogue and the plan, so that validating (`catalogue.checks`), compiling
(`plan.compile`) and applying (`rls`) read one definition of both.

Expressions are parsed with pglast and emitted from the parse tree.

What reaches the database is never the text a user wrote but the deparsed tree of exactly
one expression: `true) ; drop table x; --` does not parse as a single policy and is
refused, and dollar quotes or comments cannot smuggle a second statement through.

Calls that do not depend on the row (`current_setting(...)`, `auth.uid()`) are wrapped as
`(SELECT ...)`, so PostgreSQL evaluates them once per statement (an InitPlan) instead of once
per row — the Supabase linter's auth_rls_initplan rule, and orders of magnitude on big tables.
"""

from __future__ import annotations

from typing import Any, Protocol

import pglast
from pglast import ast, enums, visitors
from pglast.stream import RawStream

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
    tree = parse_expression(text)
    _WrapPerStatementCalls()(tree)
    return str(RawStream()(tree))


def parse_expression(text: str) -> Any:
    if not text.strip():
        raise ExpressionError("is empty")
    try:
        statements = pglast.parse_sql(f"CREATE POLICY p ON t USING ({text})")
    except pglast.parser.ParseError as error:
        raise ExpressionError(f"does not parse: {error.args[0]}") from error
    policy = statements[0].stmt if len(statements) == 1 else None
    # `true) WITH CHECK (false` would parse as one policy with a second clause: refuse it too.
    if (
        not isinstance(policy, ast.CreatePolicyStmt)
        or policy.qual is None
        or policy.with_check is not None
    ):
        raise ExpressionError("must be exactly one expression")
    return policy.qual


class _WrapPerStatementCalls(visitors.Visitor):
    def visit_SubLink(self, ancestors: Any, node: ast.SubLink) -> Any:
        return visitors.Skip  # already a sub-select: evaluated as its own plan

    def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> Any:
        name = ".".join(part.sval for part in node.funcname or ())
        if name not in PER_STATEMENT_FUNCTIONS or _reads_the_row(node):
            return None
        return ast.SubLink(
            subLinkType=enums.SubLinkType.EXPR_SUBLINK,
            subselect=ast.SelectStmt(
                targetList=(ast.ResTarget(val=node),),
                limitOption=enums.LimitOption.LIMIT_OPTION_DEFAULT,
                op=enums.SetOperation.SETOP_NONE,
            ),
        )


def _reads_the_row(node: Any) -> bool:
    """A call whose arguments name a column differs per row and must stay as it is."""
    found = False

    class _Find(visitors.Visitor):
        def visit_ColumnRef(self, ancestors: Any, ref: ast.ColumnRef) -> None:
            nonlocal found
            found = True

    _Find()(node)
    return found


class HasGroupRole(Protocol):
    """A service, as far as naming its generated policies goes."""

    @property
    def group_role(self) -> str: ...


def owner_policy_name(service: HasGroupRole) -> str:
    return f"{service.group_role}_all"


def reader_policy_name(consumer: HasGroupRole) -> str:
    return f"{consumer.group_role}_read"
