"""The tables a service's migrations build, read from the SQL with pglast, never executed.

Reading the DDL lets validation answer before anything runs: does the column a read names
exist, is every foreign-key column indexed, does a migration point at another schema the
catalogue does not let it reference, does a migration try to manage access itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from edulink_db.errors import Issue
from edulink_db.migrations.files import MigrationFile

ON_DELETE = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}

# Access is the platform's job: a migration that grants, changes owners or toggles RLS would
# make the live database differ from the plan the audit and the matrix are built from.
_FORBIDDEN = {
    ast.GrantStmt: "GRANT/REVOKE",
    ast.GrantRoleStmt: "role membership",
    ast.AlterOwnerStmt: "ALTER ... OWNER",
    ast.AlterDefaultPrivilegesStmt: "ALTER DEFAULT PRIVILEGES",
    ast.CreateSchemaStmt: "CREATE SCHEMA",
    ast.CreatePolicyStmt: "CREATE POLICY",
    ast.AlterPolicyStmt: "ALTER POLICY",
    ast.TransactionStmt: "transaction control (each file already runs in one transaction)",
    ast.CreateRoleStmt: "CREATE ROLE",
    ast.AlterRoleStmt: "ALTER ROLE",
    ast.AlterRoleSetStmt: "ALTER ROLE ... SET",
    ast.VariableSetStmt: "SET (the runner pins role and search_path)",
}
_FORBIDDEN_ALTER = {
    AlterTableType.AT_EnableRowSecurity: "ENABLE ROW LEVEL SECURITY",
    AlterTableType.AT_DisableRowSecurity: "DISABLE ROW LEVEL SECURITY",
    AlterTableType.AT_ForceRowSecurity: "FORCE ROW LEVEL SECURITY",
    AlterTableType.AT_NoForceRowSecurity: "NO FORCE ROW LEVEL SECURITY",
    AlterTableType.AT_ChangeOwner: "OWNER TO",
}


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]  # empty: the referenced table's primary key
    on_delete: str
    # Where the key is declared: the migration file and the line of its statement.
    file: str
    line: int

    def issue(self, message: str) -> Issue:
        """A problem with this key, located at the statement that declares it."""
        return Issue(self.file, "", message, self.line)


@dataclass
class Table:
    schema: str
    name: str
    columns: list[str] = field(default_factory=list)
    # Type of each column as written (`text`, `pg_catalog.bool`, `public.mood[]`): enough for
    # validation to tell a boolean policy expression from one PostgreSQL would refuse.
    types: dict[str, str] = field(default_factory=dict)
    # Type modifiers as written, `numeric(4, 2)` -> (4, 2), and the columns that may not be
    # NULL (declared NOT NULL or in the primary key): what a Django model of the table needs.
    type_modifiers: dict[str, tuple[int, ...]] = field(default_factory=dict)
    not_null: set[str] = field(default_factory=set)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    # Leading column lists of every index, including those behind PRIMARY KEY and UNIQUE.
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    # Column sets a foreign key may point at: PRIMARY KEY, UNIQUE, full unique indexes.
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)

    def is_unique_key(self, columns: tuple[str, ...]) -> bool:
        return any(set(key) == set(columns) for key in self.unique_keys)

    def is_indexed(self, columns: tuple[str, ...]) -> bool:
        return any(index[: len(columns)] == columns for index in self.indexes)

    def drop_column(self, column: str) -> None:
        """PostgreSQL drops the indexes and constraints that use the column with it."""
        self.columns.remove(column)
        self.types.pop(column, None)
        self.type_modifiers.pop(column, None)
        self.not_null.discard(column)
        self.indexes = [i for i in self.indexes if column not in i]
        self.unique_keys = [k for k in self.unique_keys if column not in k]
        self.foreign_keys = [fk for fk in self.foreign_keys if column not in fk.columns]
        if column in self.primary_key:
            self.primary_key = ()


@dataclass
class SchemaShape:
    """Tables of one schema after all of a service's migrations, in creation order."""

    schema: str
    tables: dict[str, Table] = field(default_factory=dict)
    # Files that did not parse: the shape lacks whatever they create, so checks that would
    # compare against it (unknown tables, missing indexes) must not run on it.
    unread: list[str] = field(default_factory=list)

    def rename_table(self, old: str, new: str) -> None:
        """Rename, and repoint the schema's foreign keys as PostgreSQL does."""
        table = self.tables.pop(old)
        table.name = new
        self.tables[new] = table
        for other in self.tables.values():
            other.foreign_keys = [
                replace(fk, ref_table=new) if self._targets(fk, old) else fk
                for fk in other.foreign_keys
            ]

    def rename_column(self, table_name: str, old: str, new: str) -> None:
        """Rename everywhere the column is named: key, indexes, foreign keys both ways."""
        table = self.tables[table_name]

        def swap(columns: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(new if c == old else c for c in columns)

        table.columns[table.columns.index(old)] = new
        if old in table.types:
            table.types[new] = table.types.pop(old)
        if old in table.type_modifiers:
            table.type_modifiers[new] = table.type_modifiers.pop(old)
        if old in table.not_null:
            table.not_null = (table.not_null - {old}) | {new}
        table.primary_key = swap(table.primary_key)
        table.indexes = [swap(i) for i in table.indexes]
        table.unique_keys = [swap(k) for k in table.unique_keys]
        table.foreign_keys = [replace(fk, columns=swap(fk.columns)) for fk in table.foreign_keys]
        for other in self.tables.values():
            other.foreign_keys = [
                replace(fk, ref_columns=swap(fk.ref_columns))
                if self._targets(fk, table_name)
                else fk
                for fk in other.foreign_keys
            ]

    def _targets(self, fk: ForeignKey, table: str) -> bool:
        return fk.ref_schema == self.schema and fk.ref_table == table


def read_schema_shape(
    schema: str, files: list[MigrationFile], display_root: str
) -> tuple[SchemaShape, list[Issue]]:
    shape = SchemaShape(schema)
    issues: list[Issue] = []
    for migration in files:
        where = f"{display_root}/{migration.file_name}"
        try:
            statements = pglast.parse_sql(migration.sql)
        except pglast.parser.ParseError as error:
            # No location means "at end of input".
            location = error.args[1] if len(error.args) > 1 else None
            line = (
                line_at(migration.sql, max(location - 1, 0))
                if location
                else migration.sql.rstrip().count("\n") + 1
            )
            issues.append(Issue(where, "", f"SQL does not parse: {error.args[0]}", line))
            shape.unread.append(where)
            continue
        reader = _Reader(shape, where, migration.sql, issues)
        for raw in statements:
            reader.statement(raw)
    return shape, issues


def type_name(node: ast.TypeName | None) -> str:
    """A column's type as written, schema-qualified when the parser qualified it, `[]` for
    arrays: `boolean` arrives as `pg_catalog.bool`, `uuid` as `uuid`."""
    if node is None or not node.names:
        return ""
    name = ".".join(part.sval for part in node.names)
    return f"{name}[]" if node.arrayBounds else name


def type_modifiers(node: ast.TypeName | None) -> tuple[int, ...]:
    """Integer modifiers as written: `numeric(4, 2)` -> (4, 2), `varchar(20)` -> (20,)."""
    if node is None:
        return ()
    values = (m.val for m in node.typmods or () if isinstance(m, ast.A_Const))
    return tuple(v.ival or 0 for v in values if isinstance(v, ast.Integer))


def line_at(sql: str, offset: int) -> int:
    """1-based line of the first token at or after a pglast (character) offset.

    A statement's span starts after the previous semicolon, so it includes the blank lines
    and `--` comments in front of it; an error should point at the statement itself.
    """
    position = offset
    while position < len(sql):
        if sql[position].isspace():
            position += 1
        elif sql.startswith("--", position):
            end = sql.find("\n", position)
            position = len(sql) if end < 0 else end + 1
        else:
            break
    return sql.count("\n", 0, position) + 1


@dataclass
class _Reader:
    shape: SchemaShape
    file: str
    sql: str
    issues: list[Issue]
    line: int = 0

    def statement(self, raw: ast.RawStmt) -> None:
        self.line = line_at(self.sql, raw.stmt_location or 0)
        stmt = raw.stmt
        for kind, what in _FORBIDDEN.items():
            if isinstance(stmt, kind):
                self._issue(f"{what} is not allowed in a migration; the platform manages access")
                return
        handler = getattr(self, f"_{type(stmt).__name__}", None)
        if handler:
            handler(stmt)

    def _issue(self, message: str) -> None:
        self.issues.append(Issue(self.file, "", message, self.line))

    def _table(self, relation: ast.RangeVar | None, *, create: bool = False) -> Table | None:
        if relation is None or relation.relname is None:
            return None
        schema = relation.schemaname or self.shape.schema
        if schema != self.shape.schema:
            verb = "creates" if create else "alters"
            self._issue(
                f"{verb} {schema}.{relation.relname}: a migration may only change "
                f"its own schema {self.shape.schema}"
            )
            return None
        if create:
            if relation.relname in self.shape.tables:
                self._issue(f"table {schema}.{relation.relname} is created twice")
            table = Table(schema, relation.relname)
            self.shape.tables[relation.relname] = table
            return table
        existing = self.shape.tables.get(relation.relname)
        if existing is None:
            self._issue(f"table {schema}.{relation.relname} is not created by an earlier migration")
        return existing

    def _CreateStmt(self, stmt: ast.CreateStmt) -> None:
        table = self._table(stmt.relation, create=True)
        if table is None:
            return
        for element in stmt.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                self._add_column(table, element)
            elif isinstance(element, ast.Constraint):
                self._add_constraint(table, element, ())

    def _add_column(self, table: Table, column: ast.ColumnDef) -> None:
        name = column.colname or ""
        if name in table.columns:
            self._issue(f"column {table.name}.{name} is defined twice")
        table.columns.append(name)
        table.types[name] = type_name(column.typeName)
        table.type_modifiers[name] = type_modifiers(column.typeName)
        for constraint in column.constraints or ():
            self._add_constraint(table, constraint, (name,))

    def _add_constraint(
        self, table: Table, constraint: ast.Constraint, column: tuple[str, ...]
    ) -> None:
        keys = tuple(k.sval for k in constraint.keys or ()) or column
        if constraint.contype == ConstrType.CONSTR_NOTNULL:
            table.not_null.update(column)
        elif constraint.contype == ConstrType.CONSTR_PRIMARY:
            table.primary_key = keys
            table.not_null.update(keys)
            table.indexes.append(keys)
            table.unique_keys.append(keys)
        elif constraint.contype == ConstrType.CONSTR_UNIQUE:
            table.indexes.append(keys)
            table.unique_keys.append(keys)
        elif constraint.contype == ConstrType.CONSTR_FOREIGN:
            columns = tuple(k.sval for k in constraint.fk_attrs or ()) or column
            target = constraint.pktable
            assert target is not None and target.relname is not None
            table.foreign_keys.append(
                ForeignKey(
                    columns=columns,
                    ref_schema=target.schemaname or self.shape.schema,
                    ref_table=target.relname,
                    ref_columns=tuple(k.sval for k in constraint.pk_attrs or ()),
                    on_delete=ON_DELETE.get(constraint.fk_del_action or "a", "NO ACTION"),
                    file=self.file,
                    line=self.line,
                )
            )

    def _IndexStmt(self, stmt: ast.IndexStmt) -> None:
        table = self._table(stmt.relation)
        if table is None:
            return
        leading: list[str] = []
        for element in stmt.indexParams or ():
            if element.name is None:  # an expression ends the usable prefix
                break
            leading.append(element.name)
        if leading:
            table.indexes.append(tuple(leading))
        complete = len(leading) == len(stmt.indexParams or ())
        if stmt.unique and complete and stmt.whereClause is None:
            table.unique_keys.append(tuple(leading))

    def _AlterTableStmt(self, stmt: ast.AlterTableStmt) -> None:
        if stmt.objtype != ObjectType.OBJECT_TABLE:
            return
        for command in stmt.cmds or ():
            if command.subtype in _FORBIDDEN_ALTER:
                what = _FORBIDDEN_ALTER[command.subtype]
                self._issue(f"{what} is not allowed in a migration; the platform manages access")
                return
        table = self._table(stmt.relation)
        if table is None:
            return
        for command in stmt.cmds or ():
            if command.subtype == AlterTableType.AT_AddColumn:
                self._add_column(table, command.def_)
            elif command.subtype == AlterTableType.AT_DropColumn and command.name in table.columns:
                table.drop_column(command.name)
            elif command.subtype == AlterTableType.AT_AddConstraint:
                self._add_constraint(table, command.def_, ())
            elif command.subtype == AlterTableType.AT_AlterColumnType and command.name:
                table.types[command.name] = type_name(command.def_.typeName)
                table.type_modifiers[command.name] = type_modifiers(command.def_.typeName)
            elif command.subtype == AlterTableType.AT_SetNotNull and command.name:
                table.not_null.add(command.name)
            elif command.subtype == AlterTableType.AT_DropNotNull and command.name:
                table.not_null.discard(command.name)

    def _RenameStmt(self, stmt: ast.RenameStmt) -> None:
        if stmt.renameType not in (ObjectType.OBJECT_COLUMN, ObjectType.OBJECT_TABLE):
            return
        table = self._table(stmt.relation)
        if table is None or stmt.newname is None:
            return
        if stmt.renameType == ObjectType.OBJECT_TABLE:
            self.shape.rename_table(table.name, stmt.newname)
        elif stmt.subname in table.columns:
            self.shape.rename_column(table.name, stmt.subname, stmt.newname)

    def _DropStmt(self, stmt: ast.DropStmt) -> None:
        if stmt.removeType != ObjectType.OBJECT_TABLE:
            return
        for name in stmt.objects or ():
            parts = [part.sval for part in name]
            schema, relname = (
                (parts[-2], parts[-1]) if len(parts) > 1 else (self.shape.schema, parts[-1])
            )
            if schema != self.shape.schema:
                self._issue(
                    f"drops {schema}.{relname}: a migration may only change "
                    f"its own schema {self.shape.schema}"
                )
                continue
            self.shape.tables.pop(relname, None)
