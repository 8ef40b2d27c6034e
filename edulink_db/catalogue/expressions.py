"""Policy expressions and row filters read against the tables the migrations build.

A name PostgreSQL cannot resolve, or an expression that is not boolean, fails only when the
RLS resource runs — after roles, schemas and grants were applied. Both are decided here from
the parse tree (pglast) and the DDL's shapes, so `validate` refuses them with the position of
the offending word. What only a server can decide (what an unknown function returns, the
columns of a table outside the service schemas) is listed as unsettled instead: `validate
--deep` asks a throwaway PostgreSQL about it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, SubLinkType

from edulink_db.catalogue.model import ResolvedService
from edulink_db.migrations.ddl import SchemaShape, Table, type_name
from edulink_db.sqlexpr import NotOneExpression, parse_one_expression
from edulink_db.yamlsource import PathKey

BOOLEAN = "boolean"
# parse_one_expression parses `SELECT <text>`: node locations count from the S.
_PREFIX = len("SELECT ")

_BOOLEAN_LITERALS = frozenset(
    {"t", "true", "y", "yes", "on", "1", "f", "false", "n", "no", "off", "0"}
)
# How PostgreSQL names the built-in types the parser spells in its own way.
_DISPLAY = {
    "bool": BOOLEAN,
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "varchar": "character varying",
    "bpchar": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
}
# Built-in types written without a schema: a column of one of these is surely not boolean.
_BUILTIN = frozenset(
    {
        "bool",
        "boolean",
        "text",
        "uuid",
        "json",
        "jsonb",
        "bytea",
        "date",
        "inet",
        "cidr",
        "macaddr",
        "money",
        "xml",
        "serial",
        "bigserial",
        "smallserial",
        "name",
        "oid",
        *_DISPLAY,
    }
)
_COMPARISONS = frozenset(
    {"=", "<>", "!=", "<", ">", "<=", ">=", "~", "!~", "~*", "!~*", "~~", "!~~", "~~*", "!~~*"}
)
_ALWAYS_BOOLEAN = frozenset(
    {
        A_Expr_Kind.AEXPR_OP_ANY,
        A_Expr_Kind.AEXPR_OP_ALL,
        A_Expr_Kind.AEXPR_DISTINCT,
        A_Expr_Kind.AEXPR_NOT_DISTINCT,
        A_Expr_Kind.AEXPR_IN,
        A_Expr_Kind.AEXPR_LIKE,
        A_Expr_Kind.AEXPR_ILIKE,
        A_Expr_Kind.AEXPR_SIMILAR,
        A_Expr_Kind.AEXPR_BETWEEN,
        A_Expr_Kind.AEXPR_NOT_BETWEEN,
        A_Expr_Kind.AEXPR_BETWEEN_SYM,
        A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM,
    }
)
_TEXT_FUNCTIONS = frozenset({"current_setting", "pg_catalog.current_setting"})


def display_type(written: str) -> str:
    """`pg_catalog.int4` -> `integer`: the name PostgreSQL would use in its own message."""
    array = written.endswith("[]")
    base = written.removesuffix("[]").removeprefix("pg_catalog.")
    return _DISPLAY.get(base, base) + ("[]" if array else "")


def _is_builtin(written: str) -> bool:
    base = written.removesuffix("[]")
    return base.startswith("pg_catalog.") or base in _BUILTIN


@dataclass(frozen=True)
class WrittenExpression:
    """A policy expression or row filter as the catalogue writes it, and the table whose
    rows it judges (`service` owns that table)."""

    path: PathKey
    service: str
    table: str
    command: str
    text: str
    with_check: bool = False


def written_expressions(services: Mapping[str, ResolvedService]) -> Iterator[WrittenExpression]:
    """Every custom policy's USING and WITH CHECK, and every row filter, in catalogue order."""
    for service in services.values():
        for table, spec in service.tables.items():
            for index, policy in enumerate(spec.policies):
                path = ("services", service.name, "tables", table, "policies", index)
                if policy.using is not None:
                    yield WrittenExpression(
                        (*path, "using"), service.name, table, policy.command, policy.using
                    )
                if policy.with_check is not None:
                    yield WrittenExpression(
                        (*path, "with_check"),
                        service.name,
                        table,
                        policy.command,
                        policy.with_check,
                        with_check=True,
                    )
        for index, read in enumerate(service.reads):
            if read.row_filter is not None:
                yield WrittenExpression(
                    ("services", service.name, "reads", index, "row_filter"),
                    read.service,
                    read.table,
                    "select",
                    read.row_filter,
                )


@dataclass(frozen=True)
class Relation:
    """A table an expression may name: the policy's own, or one a sub-select reads.
    `columns` maps a column to its type; None when only a server knows them."""

    schema: str | None
    name: str
    alias: str | None = None
    columns: Mapping[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def answers_to(self, qualifier: str, schema: str | None) -> bool:
        if self.alias is not None:
            return schema is None and qualifier == self.alias
        return qualifier == self.name and schema in (None, self.schema)


@dataclass(frozen=True)
class Problem:
    """Something PostgreSQL would refuse, at a character offset of the expression."""

    offset: int
    message: str


@dataclass
class Examination:
    problems: list[Problem] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)  # what only a server can tell


def examine_expression(text: str, table: Table, shapes: Mapping[str, SchemaShape]) -> Examination:
    """Resolve every column reference of `text` (a policy on `table`) and check that the
    whole is boolean. `shapes` are the readable service schemas, by schema name."""
    result = Examination()
    try:
        root = parse_one_expression(text)
    except NotOneExpression:
        return result  # refused already, with its own message, by the parse check
    own = Relation(table.schema, table.name, columns=_typed_columns(table))
    walker = _Walker(shapes, result)
    walker.walk(root, [[own]])
    kind = _type_of(root, walker.types)
    if kind is None:
        result.unsettled.append(f"the type of `{_shorten(text)}`")
    elif kind != BOOLEAN:
        start = len(text) - len(text.lstrip())
        result.problems.append(
            Problem(start, f"must be boolean (a row is admitted when it is true), but it is {kind}")
        )
    return result


def _typed_columns(table: Table) -> dict[str, str]:
    return {column: table.types.get(column, "") for column in table.columns}


def _shorten(text: str, width: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class _Walker:
    """Resolves column references scope by scope, as PostgreSQL does: innermost FROM first."""

    def __init__(self, shapes: Mapping[str, SchemaShape], result: Examination) -> None:
        self.shapes = shapes
        self.result = result
        self.types: dict[int, str | None] = {}  # id(ColumnRef) -> its type, None unknown

    def walk(self, node: Any, scopes: list[list[Relation]]) -> None:
        if isinstance(node, list | tuple):
            for item in node:
                self.walk(item, scopes)
        elif isinstance(node, ast.ColumnRef):
            self.types[id(node)] = self.column(node, scopes)
        elif isinstance(node, ast.SelectStmt):
            self.select(node, scopes)
        elif isinstance(node, ast.Node):
            for name in node:
                self.walk(getattr(node, name), scopes)

    def select(self, stmt: ast.SelectStmt, scopes: list[list[Relation]]) -> None:
        level: list[Relation] = []
        for item in stmt.fromClause or ():
            level.extend(self.from_item(item, scopes))
        inner = [level, *scopes]
        for name in stmt:
            if name != "fromClause":
                self.walk(getattr(stmt, name), inner)
        for item in stmt.fromClause or ():
            self.join_conditions(item, inner)

    def from_item(self, item: Any, scopes: list[list[Relation]]) -> Iterator[Relation]:
        alias = item.alias.aliasname if getattr(item, "alias", None) else None
        if isinstance(item, ast.RangeVar):
            yield self.relation(item, alias)
        elif isinstance(item, ast.JoinExpr):
            yield from self.from_item(item.larg, scopes)
            yield from self.from_item(item.rarg, scopes)
        else:  # a sub-select or a function in FROM: its columns are a server's business
            self.walk([getattr(item, name) for name in item if name != "alias"], scopes)
            self.result.unsettled.append("the columns of a sub-select or function in FROM")
            yield Relation(None, alias or "", alias, None)

    def join_conditions(self, item: Any, scopes: list[list[Relation]]) -> None:
        if isinstance(item, ast.JoinExpr):
            self.walk(item.quals, scopes)
            self.join_conditions(item.larg, scopes)
            self.join_conditions(item.rarg, scopes)

    def relation(self, var: ast.RangeVar, alias: str | None) -> Relation:
        name = var.relname or ""
        shape = self.shapes.get(var.schemaname or "")
        if shape is None:
            self.result.unsettled.append(f"the columns of {_label(var)}")
            return Relation(var.schemaname, name, alias, None)
        table = shape.tables.get(name)
        if table is None:
            known = ", ".join(shape.tables) or "none"
            self.result.problems.append(
                Problem(
                    _offset(var),
                    f"names unknown table {shape.schema}.{name}; its migrations create: {known}",
                )
            )
            return Relation(var.schemaname, name, alias, None)
        return Relation(var.schemaname, name, alias, _typed_columns(table))

    def column(self, ref: ast.ColumnRef, scopes: list[list[Relation]]) -> str | None:
        fields = ref.fields or ()
        if any(isinstance(part, ast.A_Star) for part in fields):
            return None
        names = [part.sval for part in fields]
        if len(names) == 1:
            return self.bare(names[0], ref, scopes)
        if len(names) in (2, 3):
            return self.qualified(names, ref, scopes)
        return None

    def bare(self, name: str, ref: ast.ColumnRef, scopes: list[list[Relation]]) -> str | None:
        for level in scopes:
            for relation in level:
                if relation.columns is not None and name in relation.columns:
                    return _column_type(relation.columns[name])
            if any(relation.columns is None for relation in level):
                return None  # it may be a column of what only a server can read
        if any(r.answers_to(name, None) for level in scopes for r in level):
            return "record"  # a whole-row reference
        known = [r for level in scopes for r in level if r.columns is not None]
        self.result.problems.append(Problem(_offset(ref), _unknown(name, known)))
        return None

    def qualified(
        self, names: list[str], ref: ast.ColumnRef, scopes: list[list[Relation]]
    ) -> str | None:
        *prefix, name = names
        schema, qualifier = (None, prefix[0]) if len(prefix) == 1 else (prefix[0], prefix[1])
        for level in scopes:
            for relation in level:
                if not relation.answers_to(qualifier, schema):
                    continue
                if relation.columns is None:
                    return None
                if name in relation.columns:
                    return _column_type(relation.columns[name])
                self.result.problems.append(Problem(_offset(ref), _unknown(name, [relation])))
                return None
        self.result.problems.append(
            Problem(
                _offset(ref),
                f"names {'.'.join(names)}, but {'.'.join(prefix)} is no table it reads; it may "
                "name " + ", ".join(r.alias or r.name for level in scopes for r in level if r.name),
            )
        )
        return None


def _label(var: ast.RangeVar) -> str:
    return f"{var.schemaname}.{var.relname}" if var.schemaname else str(var.relname)


def _offset(node: Any) -> int:
    return max((getattr(node, "location", None) or _PREFIX) - _PREFIX, 0)


def _unknown(name: str, known: list[Relation]) -> str:
    if len(known) == 1 and known[0].columns is not None:
        columns = ", ".join(known[0].columns)
        return f"names unknown column {name} of {known[0].label}; known: {columns}"
    tables = ", ".join(r.label for r in known)
    return f"names unknown column {name}: none of {tables} has it"


def _column_type(written: str) -> str | None:
    return display_type(written) if written and _is_builtin(written) else None


def _type_of(node: Any, columns: Mapping[int, str | None]) -> str | None:
    """The type of a parse-tree node when it is certain without a server, else None."""
    if isinstance(node, ast.BoolExpr | ast.NullTest | ast.BooleanTest):
        return BOOLEAN
    if isinstance(node, ast.ColumnRef):
        return columns.get(id(node))
    if isinstance(node, ast.A_Const):
        return _constant_type(node)
    if isinstance(node, ast.A_Expr):
        return _operator_type(node, columns)
    if isinstance(node, ast.TypeCast):
        written = type_name(node.typeName)
        return display_type(written) if _is_builtin(written) else None
    if isinstance(node, ast.SubLink):
        return None if node.subLinkType == SubLinkType.EXPR_SUBLINK else BOOLEAN
    if isinstance(node, ast.CoalesceExpr | ast.MinMaxExpr):
        return _common_type([_type_of(arg, columns) for arg in node.args or ()])
    if isinstance(node, ast.CaseExpr):
        results = [_type_of(when.result, columns) for when in node.args or ()]
        if node.defresult is not None:
            results.append(_type_of(node.defresult, columns))
        return _common_type(results)
    if isinstance(node, ast.SQLValueFunction):
        return "a session value"
    if isinstance(node, ast.RowExpr | ast.A_ArrayExpr):
        return "a row" if isinstance(node, ast.RowExpr) else "an array"
    if isinstance(node, ast.FuncCall):
        name = ".".join(part.sval for part in node.funcname or ())
        return "text" if name in _TEXT_FUNCTIONS else None
    return None


def _constant_type(node: ast.A_Const) -> str | None:
    if node.isnull:
        return BOOLEAN  # NULL takes the type the context asks for
    value = node.val
    if isinstance(value, ast.Boolean):
        return BOOLEAN
    if isinstance(value, ast.String):
        # An untyped literal becomes boolean when it spells one.
        spelled = (value.sval or "").strip().lower() in _BOOLEAN_LITERALS
        return BOOLEAN if spelled else "a string that spells no boolean"
    if isinstance(value, ast.Integer):
        return "integer"
    if isinstance(value, ast.Float):
        return "numeric"
    return None


def _operator_type(node: ast.A_Expr, columns: Mapping[int, str | None]) -> str | None:
    if node.kind in _ALWAYS_BOOLEAN:
        return BOOLEAN
    if node.kind == A_Expr_Kind.AEXPR_NULLIF:
        return _type_of(node.lexpr, columns)
    names = node.name or ()
    operator = names[-1].sval if names else ""
    if node.kind == A_Expr_Kind.AEXPR_OP and operator in _COMPARISONS and len(names) == 1:
        return BOOLEAN
    return None


def _common_type(types: list[str | None]) -> str | None:
    """COALESCE, CASE, GREATEST: boolean only when every branch is; one known non-boolean
    branch makes the whole non-boolean (PostgreSQL cannot unify them into boolean)."""
    known = [t for t in types if t is not None]
    if any(t != BOOLEAN for t in known):
        return next(t for t in known if t != BOOLEAN)
    return BOOLEAN if known and len(known) == len(types) else None


def unsettled_expressions(
    services: Mapping[str, ResolvedService], shapes: Mapping[str, SchemaShape]
) -> Iterator[tuple[WrittenExpression, list[str]]]:
    """Expressions static validation could not settle, and what it could not tell: the
    things `validate --deep` leaves to PostgreSQL."""
    by_schema = {services[name].schema_name: shape for name, shape in shapes.items()}
    for written in written_expressions(services):
        shape = shapes.get(written.service)
        table = shape.tables.get(written.table) if shape else None
        if table is None:
            continue
        unsettled = examine_expression(written.text, table, by_schema).unsettled
        if unsettled:
            yield written, list(dict.fromkeys(unsettled))
