"""The pglast reader of migrations: table shapes after every statement, never executed."""

from __future__ import annotations

from pathlib import Path

from edulink_db.migrations.ddl import ForeignKey, SchemaShape, line_at, read_schema_shape
from edulink_db.migrations.files import MigrationFile


def read(*sqls: str, schema: str = "svc_schema") -> tuple[SchemaShape, list[str]]:
    files = [
        MigrationFile(number, "step", Path(f"{number:04d}_step.sql"), sql)
        for number, sql in enumerate(sqls, 1)
    ]
    shape, issues = read_schema_shape(schema, files, "migrations/svc")
    return shape, [str(issue) for issue in issues]


def test_unqualified_names_resolve_to_the_service_schema() -> None:
    shape, issues = read(
        "create table a (id int primary key);\n"
        "create table svc_schema.b (id int primary key, a_id int references a);\n"
        "create index on b (a_id);\n"
    )
    assert issues == []
    assert list(shape.tables) == ["a", "b"]
    assert shape.tables["a"].schema == "svc_schema"
    (fk,) = shape.tables["b"].foreign_keys
    assert fk.ref_schema == "svc_schema"
    assert fk.ref_table == "a"
    assert ("a_id",) in shape.tables["b"].indexes


def test_columns_after_alter_table_add_drop_and_rename_column() -> None:
    shape, issues = read(
        "create table t (id int primary key, a int, b int);\n"
        "alter table t add column c int, drop column a;\n",
        "alter table svc_schema.t rename column b to bee;\n"
        "alter table t add column d text not null default '';\n"
        "alter table t drop column if exists nope;\n",
    )
    assert issues == []
    assert shape.tables["t"].columns == ["id", "bee", "c", "d"]


def test_table_rename() -> None:
    shape, issues = read(
        "create table old_name (id int primary key);\n",
        "alter table old_name rename to new_name;\n",
    )
    assert issues == []
    assert list(shape.tables) == ["new_name"]
    assert shape.tables["new_name"].name == "new_name"
    assert shape.tables["new_name"].columns == ["id"]


def test_drop_table() -> None:
    shape, issues = read(
        "create table a (id int);\ncreate table b (id int);\ncreate table c (id int);\n"
        "create table d (id int);\n",
        "drop table a;\ndrop table if exists svc_schema.b, c;\ndrop table if exists never;\n",
    )
    assert issues == []
    assert list(shape.tables) == ["d"]


def test_foreign_keys_column_level_and_table_level() -> None:
    shape, issues = read(
        "create table parent (id int primary key, code text unique);\n"
        "create table child (\n"
        "    id int primary key,\n"
        "    parent_id int references parent on delete cascade,\n"
        "    parent_code text,\n"
        "    other_id uuid,\n"
        "    constraint child_code_fk foreign key (parent_code)\n"
        "        references parent (code) on delete set null,\n"
        "    foreign key (other_id) references other_schema.things (id) on delete restrict\n"
        ");\n"
    )
    assert issues == []
    assert shape.tables["child"].foreign_keys == [
        ForeignKey(
            ("parent_id",), "svc_schema", "parent", (), "CASCADE", "migrations/svc/0001_step.sql", 2
        ),
        ForeignKey(
            ("parent_code",),
            "svc_schema",
            "parent",
            ("code",),
            "SET NULL",
            "migrations/svc/0001_step.sql",
            2,
        ),
        ForeignKey(
            ("other_id",),
            "other_schema",
            "things",
            ("id",),
            "RESTRICT",
            "migrations/svc/0001_step.sql",
            2,
        ),
    ]


def test_foreign_keys_added_by_alter_table() -> None:
    shape, issues = read(
        "create table p (id int primary key);\ncreate table c (id int, p_id int);\n",
        "\n-- later\nalter table c add constraint c_p_fk foreign key (p_id) references p (id);\n"
        "alter table c add column q_id int references p on delete set default;\n",
    )
    assert issues == []
    assert shape.tables["c"].foreign_keys == [
        ForeignKey(
            ("p_id",), "svc_schema", "p", ("id",), "NO ACTION", "migrations/svc/0002_step.sql", 3
        ),
        ForeignKey(
            ("q_id",), "svc_schema", "p", (), "SET DEFAULT", "migrations/svc/0002_step.sql", 4
        ),
    ]


def test_composite_foreign_key() -> None:
    shape, issues = read(
        "create table p (a int, b int, primary key (a, b));\n"
        "create table c (x int, y int, foreign key (x, y) references p (a, b));\n"
        "create index on c (x, y);\n"
    )
    assert issues == []
    (fk,) = shape.tables["c"].foreign_keys
    assert (fk.columns, fk.ref_columns) == (("x", "y"), ("a", "b"))
    assert shape.tables["p"].primary_key == ("a", "b")
    assert shape.tables["c"].is_indexed(("x", "y"))
    assert shape.tables["c"].is_indexed(("x",))
    assert not shape.tables["c"].is_indexed(("y",))
    assert not shape.tables["c"].is_indexed(("y", "x"))


def test_index_leading_columns_stop_at_the_first_expression() -> None:
    shape, issues = read(
        "create table t (a int, b text, c int, d int);\n"
        "create index t_a on t (a, lower(b), c);\n"
        "create index t_expr on t (lower(b), c);\n"
        "create unique index t_cd on svc_schema.t (c, d desc) where d > 0;\n"
        "create index t_using on t using btree (d);\n"
    )
    assert issues == []
    table = shape.tables["t"]
    assert table.indexes == [("a",), ("c", "d"), ("d",)]
    assert table.is_indexed(("a",))
    assert not table.is_indexed(("a", "c"))  # lower(b) sits between them
    assert table.is_indexed(("c", "d"))


def test_primary_key_and_unique_constraints_count_as_indexes() -> None:
    shape, issues = read(
        "create table t (\n"
        "    id int primary key,\n"
        "    email text unique,\n"
        "    a int, b int, c int,\n"
        "    constraint t_ab unique (a, b)\n"
        ");\n"
        "create table u (x int, y int, constraint u_pk primary key (x, y));\n"
        "alter table t add constraint t_c unique (c);\n"
    )
    assert issues == []
    assert shape.tables["t"].primary_key == ("id",)
    assert shape.tables["t"].indexes == [("id",), ("email",), ("a", "b"), ("c",)]
    assert shape.tables["u"].primary_key == ("x", "y")
    assert shape.tables["u"].indexes == [("x", "y")]


def test_statement_problems_are_located() -> None:
    _, issues = read(
        "create table a (id int);\n\n  create table a (id int);\n",
        "-- header\nalter table missing add column x int;\ncreate table d (x int, x int);\n"
        "create index on elsewhere.t (x);\n",
    )
    assert issues == [
        "migrations/svc/0001_step.sql:3: table svc_schema.a is created twice",
        "migrations/svc/0002_step.sql:2: table svc_schema.missing is not created by an earlier "
        "migration",
        "migrations/svc/0002_step.sql:3: column d.x is defined twice",
        "migrations/svc/0002_step.sql:4: alters elsewhere.t: a migration may only change its "
        "own schema svc_schema",
    ]


def test_a_file_that_does_not_parse_is_skipped_and_the_next_is_read() -> None:
    shape, issues = read(
        "create table a (id int);\ncreate tabel b;\n", "create table c (id int);\n"
    )
    assert issues == [
        'migrations/svc/0001_step.sql:2: SQL does not parse: syntax error at or near "tabel"'
    ]
    assert list(shape.tables) == ["c"]


def test_line_at_skips_blank_lines_and_comments_in_front_of_a_statement() -> None:
    sql = "select 1;\n\n-- a comment\n  -- another\n\nselect 2;\n"
    assert line_at(sql, 0) == 1
    assert line_at(sql, sql.index(";") + 1) == 6
    assert line_at(sql, len(sql)) == 7


# -- what PostgreSQL does to constraints when tables and columns change --------------------


def test_renaming_a_table_renames_it_in_the_foreign_keys_pointing_at_it() -> None:
    """PostgreSQL keeps FKs pointing at a renamed table; the reader leaves them on the old
    name, so check_foreign_keys reports `points at unknown table svc_schema.parent` for a
    valid migration."""
    shape, issues = read(
        "create table parent (id int primary key);\n"
        "create table child (id int primary key, parent_id int references parent);\n"
        "create index on child (parent_id);\n",
        "alter table parent rename to ancestor;\n",
    )
    assert issues == []
    (fk,) = shape.tables["child"].foreign_keys
    assert (fk.ref_schema, fk.ref_table) == ("svc_schema", "ancestor")


def test_dropping_a_column_drops_its_foreign_keys_and_indexes() -> None:
    """ALTER TABLE ... DROP COLUMN drops the indexes and table constraints involving the
    column; the reader keeps them, so a dropped cross-schema FK is still checked against the
    catalogue's `references`."""
    shape, issues = read(
        "create table p (id int primary key);\n"
        "create table c (id int primary key, p_id int references p, note text);\n"
        "create index on c (p_id);\n",
        "alter table c drop column p_id;\n",
    )
    assert issues == []
    table = shape.tables["c"]
    assert table.columns == ["id", "note"]
    assert table.foreign_keys == []
    assert table.indexes == [("id",)]


def test_renaming_a_column_renames_it_in_keys_and_indexes() -> None:
    """Renaming a primary-key column leaves `primary_key` on the old name, so an FK that
    references the table's primary key is reported as pointing at unknown columns."""
    shape, issues = read(
        "create table p (id int primary key, code text unique);\n",
        "alter table p rename column id to p_key;\n",
    )
    assert issues == []
    assert shape.tables["p"].columns == ["p_key", "code"]
    assert shape.tables["p"].primary_key == ("p_key",)
    assert shape.tables["p"].indexes == [("p_key",), ("code",)]


def test_nullability_and_type_modifiers_follow_every_statement() -> None:
    shape, issues = read(
        "create table t (id uuid, code varchar(20) not null, gpa numeric(4, 2), note text,"
        " constraint t_pkey primary key (id));\n",
        "alter table t alter column note set not null, alter column code drop not null;\n"
        "alter table t alter column code type varchar(40);\n"
        "alter table t rename column gpa to grade;\n"
        "alter table t add column tag char(2) not null;\n",
    )
    assert issues == []
    table = shape.tables["t"]
    assert table.not_null == {"id", "note", "tag"}  # the primary key's column too
    assert table.type_modifiers == {
        "id": (),
        "code": (40,),
        "grade": (4, 2),
        "note": (),
        "tag": (2,),
    }
    table.drop_column("tag")
    assert "tag" not in table.not_null and "tag" not in table.type_modifiers
