"""Policy expressions compared the way PostgreSQL means them, not the way they were typed.

The plan holds pglast's rendering of the catalogue's expression; the database holds its own
rendering (pg_get_expr), which adds what parse analysis resolved: casts on literals
(`''::text`), implicit casts on columns (`(email)::text`), `= ANY (ARRAY[...])` for `IN`
(and `=` for a one-item `IN`), `>= AND <=` for BETWEEN,
`~~` for LIKE, `AS current_setting` on sub-select targets, and schema names. Both sides are
parsed with pglast and rewritten into one normal form, then deparsed and compared as text;
nothing is installed in the database to compare.

What the normal form forgets: the type of a literal (`1` and `'1'` compare equal) and casts of
columns and literals. Both would be caught by PostgreSQL when the expression is used, and
neither changes which rows a policy admits in practice; a difference anywhere else — an
operator, a column, a function, a constant's value — is a difference.
"""

from __future__ import annotations

from typing import Any

from pglast import ast, enums
from pglast.stream import RawStream

from edulink_db.sqlexpr import NotOneExpression, parse_one_expression

_OPERATOR_KINDS = {
    enums.A_Expr_Kind.AEXPR_LIKE,
    enums.A_Expr_Kind.AEXPR_ILIKE,
    enums.A_Expr_Kind.AEXPR_SIMILAR,
}


class ExpressionUnreadable(ValueError):
    """The text is not one SQL expression."""


def parse(text: str) -> Any:
    try:
        return parse_one_expression(text)
    except NotOneExpression as error:
        raise ExpressionUnreadable(f"{text!r} {error}") from error


def normalise_expression(text: str, schema: str, table: str) -> str:
    """The normal form of a policy expression on `schema`.`table` (see the module's doc)."""
    return str(RawStream()(_Normaliser(schema, table).walk(parse(text))))


def same_expression(planned: str | None, live: str | None, schema: str, table: str) -> bool:
    if planned is None or live is None:
        return planned is live
    if planned.strip().lower() == live.strip().lower():
        return True  # most policies (`true`, a bare column test) need no parse at all
    return normalise_expression(planned, schema, table) == normalise_expression(live, schema, table)


class _Normaliser:
    def __init__(self, schema: str, table: str) -> None:
        self.schema = schema
        self.table = table
        self.sublinks = 0  # how deep inside sub-selects the walk is

    def walk(self, value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(self.walk(item) for item in value)
        if not isinstance(value, ast.Node):
            return value
        nested = isinstance(value, ast.SubLink)
        self.sublinks += nested
        for slot in _slots(value):
            child = getattr(value, slot, None)
            if isinstance(child, ast.Node | tuple):
                setattr(value, slot, self.walk(child))
        self.sublinks -= nested
        rewrite = getattr(self, f"_{type(value).__name__}", None)
        return rewrite(value) if rewrite else value

    def _TypeCast(self, node: ast.TypeCast) -> Any:
        # Casts PostgreSQL adds to literals and columns during parse analysis.
        if isinstance(node.arg, ast.A_Const | ast.ColumnRef):
            return node.arg
        return node

    def _A_Const(self, node: ast.A_Const) -> Any:
        if node.isnull or isinstance(node.val, ast.Boolean) or node.val is None:
            return node
        val = node.val
        if isinstance(val, ast.String):
            return node
        if isinstance(val, ast.Integer):
            text = str(val.ival)
        elif isinstance(val, ast.Float):
            text = str(val.fval)
        elif isinstance(val, ast.BitString):
            text = str(val.bsval)
        else:
            return node
        return ast.A_Const(isnull=False, val=ast.String(sval=text))

    def _A_Expr(self, node: ast.A_Expr) -> Any:
        node.name = _without_catalog(node.name)
        kind = node.kind
        if kind in _OPERATOR_KINDS:
            node.kind = enums.A_Expr_Kind.AEXPR_OP
        elif kind == enums.A_Expr_Kind.AEXPR_IN and isinstance(node.rexpr, tuple):
            if len(node.rexpr) == 1:  # `x IN (a)` is stored as `x = a`
                node.kind = enums.A_Expr_Kind.AEXPR_OP
                node.rexpr = node.rexpr[0]
                return node
            negated = bool(node.name) and getattr(node.name[-1], "sval", None) == "<>"
            node.kind = (
                enums.A_Expr_Kind.AEXPR_OP_ALL if negated else enums.A_Expr_Kind.AEXPR_OP_ANY
            )
            node.rexpr = ast.A_ArrayExpr(elements=node.rexpr)
        elif kind in (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_NOT_BETWEEN):
            low, high = tuple(node.rexpr or ())
            inside = kind == enums.A_Expr_Kind.AEXPR_BETWEEN
            return self._BoolExpr(
                ast.BoolExpr(
                    boolop=enums.BoolExprType.AND_EXPR if inside else enums.BoolExprType.OR_EXPR,
                    args=(
                        _operator(">=" if inside else "<", node.lexpr, low),
                        _operator("<=" if inside else ">", node.lexpr, high),
                    ),
                )
            )
        return node

    def _BoolExpr(self, node: ast.BoolExpr) -> Any:
        if node.boolop == enums.BoolExprType.NOT_EXPR:
            return node
        args: list[Any] = []
        for arg in node.args or ():
            if isinstance(arg, ast.BoolExpr) and arg.boolop == node.boolop:
                args.extend(arg.args or ())
            else:
                args.append(arg)
        node.args = tuple(args)
        return node

    def _ResTarget(self, node: ast.ResTarget) -> Any:
        node.name = None  # `AS current_setting`: a sub-select's column name changes nothing
        return node

    def _FuncCall(self, node: ast.FuncCall) -> Any:
        node.funcname = self._unqualified(node.funcname)
        return node

    def _TypeName(self, node: ast.TypeName) -> Any:
        node.names = self._unqualified(node.names)
        return node

    def _RangeVar(self, node: ast.RangeVar) -> Any:
        if node.schemaname in ("pg_catalog", self.schema):
            node.schemaname = None
        return node

    def _ColumnRef(self, node: ast.ColumnRef) -> Any:
        # PostgreSQL drops the policy's own table name from its columns, but only at the top:
        # inside a sub-select the qualifier may be what tells the two tables apart.
        if self.sublinks:
            return node
        fields = tuple(node.fields or ())
        names = [getattr(f, "sval", None) for f in fields]
        if len(fields) == 3 and names[:2] == [self.schema, self.table]:
            node.fields = fields[2:]
        elif len(fields) == 2 and names[0] == self.table:
            node.fields = fields[1:]
        return node

    def _unqualified(self, names: Any) -> Any:
        parts = tuple(names or ())
        if len(parts) > 1 and getattr(parts[0], "sval", None) in ("pg_catalog", self.schema):
            return parts[1:]
        return parts


def _slots(node: ast.Node) -> tuple[str, ...]:
    slots: Any = getattr(type(node), "__slots__", ())
    return tuple(slots)


def _without_catalog(names: Any) -> Any:
    parts = tuple(names or ())
    if len(parts) > 1 and getattr(parts[0], "sval", None) == "pg_catalog":
        return parts[1:]
    return parts


def _operator(symbol: str, left: Any, right: Any) -> ast.A_Expr:
    return ast.A_Expr(
        kind=enums.A_Expr_Kind.AEXPR_OP,
        name=(ast.String(sval=symbol),),
        lexpr=left,
        rexpr=right,
    )
