"""Foreign keys into other schemas, removed from a migration's parse tree.

The migration is parsed with pglast and emitted from the parse tree (as the policy
expressions and the data move's transforms are), so only the foreign-key constraints are
removed and nothing is edited as text. `definitions.local_definitions` comes here only for a
migration that may hold such a key.
"""

from __future__ import annotations

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType
from pglast.stream import RawStream

from edulink_db.backup.definitions import LeftOut


def _foreign_elsewhere(node: object, schema: str) -> bool:
    return (
        isinstance(node, ast.Constraint)
        and node.contype == ConstrType.CONSTR_FOREIGN
        and node.pktable is not None
        and (node.pktable.schemaname or schema) != schema
    )


def _left_out(table: str, columns: tuple[str, ...], constraint: ast.Constraint) -> LeftOut:
    assert constraint.pktable is not None
    target = f"{constraint.pktable.schemaname}.{constraint.pktable.relname}"
    referenced = ", ".join(getattr(a, "sval", "?") for a in constraint.pk_attrs or ())
    return LeftOut(table, columns, f"{target} ({referenced})" if referenced else target)


def _names(items: tuple[ast.Node, ...] | None) -> tuple[str, ...]:
    return tuple(getattr(item, "sval", "?") for item in items or ())


def _strip_create(stmt: ast.CreateStmt, schema: str, removed: list[LeftOut]) -> None:
    assert stmt.relation is not None
    table = f"{stmt.relation.schemaname or schema}.{stmt.relation.relname}"
    kept: list[ast.Node] = []
    for element in stmt.tableElts or ():
        if _foreign_elsewhere(element, schema):
            assert isinstance(element, ast.Constraint)
            removed.append(_left_out(table, _names(element.fk_attrs), element))
            continue
        if isinstance(element, ast.ColumnDef) and element.constraints:
            own = [c for c in element.constraints if not _foreign_elsewhere(c, schema)]
            for constraint in element.constraints:
                if _foreign_elsewhere(constraint, schema):
                    assert isinstance(constraint, ast.Constraint)
                    removed.append(_left_out(table, (str(element.colname),), constraint))
            element.constraints = tuple(own)
        kept.append(element)
    stmt.tableElts = tuple(kept)


def _strip_alter(stmt: ast.AlterTableStmt, schema: str, removed: list[LeftOut]) -> bool:
    """Drop ADD CONSTRAINT ... FOREIGN KEY into another schema; False when nothing is left."""
    assert stmt.relation is not None
    table = f"{stmt.relation.schemaname or schema}.{stmt.relation.relname}"
    kept: list[ast.Node] = []
    for command in stmt.cmds or ():
        if (
            isinstance(command, ast.AlterTableCmd)
            and command.subtype == AlterTableType.AT_AddConstraint
            and _foreign_elsewhere(command.def_, schema)
        ):
            assert isinstance(command.def_, ast.Constraint)
            removed.append(_left_out(table, _names(command.def_.fk_attrs), command.def_))
            continue
        kept.append(command)
    stmt.cmds = tuple(kept)
    return bool(kept)


def strip_foreign_elsewhere(text: str, schema: str) -> tuple[str, list[LeftOut]]:
    """The migration's statements without foreign keys into other schemas, and those keys."""
    removed: list[LeftOut] = []
    statements: list[str] = []
    for raw in parse_sql(text):
        stmt = raw.stmt
        assert stmt is not None
        if isinstance(stmt, ast.CreateStmt):
            _strip_create(stmt, schema, removed)
        elif isinstance(stmt, ast.AlterTableStmt) and not _strip_alter(stmt, schema, removed):
            continue
        statements.append(str(RawStream()(stmt)))
    return ";\n".join(statements) + ";\n", removed
