"""The pure parts of inspect, backup and rollback, case by case, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import sql

from edulink_db.backup.catalog import parents_first
from edulink_db.backup.definitions import local_definitions, references_elsewhere
from edulink_db.backup.foreign_keys import strip_foreign_elsewhere
from edulink_db.errors import ValidationFailed
from edulink_db.inspect.checks import CHECKS
from edulink_db.inspect.fetch import parse_duration_ms
from edulink_db.inspect.plans import Candidate, plan_shapes
from edulink_db.inspect.render import escape_label
from edulink_db.inspect.snapshot import Statement
from edulink_db.inspect.thresholds import Thresholds, load_thresholds
from edulink_db.rollback.inverse import NotInvertible, invert
from edulink_db.sqlexpr import parse_one_expression

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("transform", "column", "inverse", "fidelity"),
    [
        ("email", "email", '"v"', "exact"),
        ("nullif(city, '')", "city", "coalesce(\"v\", '')", "reversed"),
        ("lower(btrim(email))", "email", '"v"', "normalised"),
        ("value::jsonb", "value", '("v")::text', "normalised"),
        (
            "CASE role WHEN 'staff' THEN 'institution_staff' ELSE role END",
            "role",
            "CASE \"v\" WHEN 'institution_staff' THEN 'staff' ELSE \"v\" END",
            "exact",
        ),
        (
            "CASE t WHEN 'A' THEN 'a' WHEN 'B' THEN 'b' END",
            "t",
            "CASE \"v\" WHEN 'a' THEN 'A' WHEN 'b' THEN 'B' ELSE NULL END",
            "exact",
        ),
        ("nullif(upper(code), '')", "code", "coalesce(\"v\", '')", "normalised"),
    ],
)
def test_invertible_transforms(transform: str, column: str, inverse: str, fidelity: str) -> None:
    found, value, how = invert(parse_one_expression(transform), sql.Identifier("v"))
    assert (found, value.as_string(), how) == (column, inverse, fidelity)


@pytest.mark.parametrize(
    ("transform", "why"),
    [
        ("CASE WHEN a THEN b END", "a searched CASE has no inverse"),
        (
            "CASE k WHEN 'x' THEN 'y' ELSE 'other' END",
            "CASE has an ELSE that folds values together",
        ),
        (
            "CASE k WHEN 'x' THEN 'y' WHEN 'z' THEN 'y' END",
            "CASE gives the same result for different values",
        ),
        ("md5(id)", "md5() has no inverse"),
        ("a || b", "an operator has no inverse"),
        ("coalesce(a, b)", "coalesce() has no inverse"),
    ],
)
def test_transforms_without_an_inverse(transform: str, why: str) -> None:
    with pytest.raises(NotInvertible) as raised:
        invert(parse_one_expression(transform), sql.Identifier("v"))
    assert str(raised.value) == why


def test_foreign_keys_into_other_schemas_are_left_out_of_a_scratch_schema() -> None:
    text = (
        "create table s.a (id int primary key);\n"
        "create table s.b (id int primary key, a_id int references s.a (id),"
        " u uuid not null references auth_schema.users (id) on delete cascade,"
        " p int, constraint b_p_fkey foreign key (p) references other.p (id));\n"
        "alter table s.b add constraint b_x_fkey foreign key (p) references other.x (id);\n"
        "create index on s.b (u);\n"
    )
    local, removed = local_definitions(text, "s")
    assert [str(r) for r in removed] == [
        "s.b (u) → auth_schema.users (id)",
        "s.b (p) → other.p (id)",
        "s.b (p) → other.x (id)",
    ]
    assert local == (
        "CREATE TABLE s.a (id integer PRIMARY KEY);\n"
        "CREATE TABLE s.b (id integer PRIMARY KEY, a_id integer REFERENCES s.a (id), u uuid NOT "
        "NULL, p integer);\n"
        "CREATE INDEX ON s.b (u);\n"
    )


@pytest.mark.parametrize(
    ("text", "elsewhere"),
    [
        ("a_id integer references s.a (id),", False),
        ("a_id integer REFERENCES S . a(id) ON DELETE CASCADE", False),
        ('a_id integer references "s".a', False),
        ("a_id integer references a match full", False),
        ("a_id integer references a", False),
        ("u uuid references other.users (id)", True),
        ('u uuid references "S".users (id)', True),
        ('u uuid references s."a"', True),
        ("u uuid references /* s.a */ other.users", True),
        ("u uuid references\n    other.users (id)", True),
        ('u uuid references U&"other".users', True),
        ("u uuid references a.", True),
    ],
)
def test_only_a_migration_that_may_reference_another_schema_is_parsed(
    text: str, elsewhere: bool
) -> None:
    assert references_elsewhere(text, "s") is elsewhere
    if not elsewhere:
        assert local_definitions(text, "s") == (text, [])


@pytest.mark.parametrize(
    "migration", sorted(ROOT.glob("migrations/*/*.sql")), ids=lambda p: p.parent.name
)
def test_a_migration_run_as_written_has_no_foreign_key_to_leave_out(migration: Path) -> None:
    """The parse tree agrees wherever the parser is skipped; auth's migrations skip it."""
    schema = f"{migration.parent.name}_schema"
    text = migration.read_text()
    local, removed = strip_foreign_elsewhere(text, schema)
    if not references_elsewhere(text, schema):
        assert removed == []
        assert local_definitions(text, schema) == (text, [])
    else:
        assert local_definitions(text, schema) == (local, removed)
    if migration.parent.name == "auth":
        assert not references_elsewhere(text, schema)


def test_parents_come_first_and_a_cycle_keeps_its_order() -> None:
    assert parents_first(["c", "b", "a"], [("c", "b"), ("b", "a"), ("b", "b")]) == ["a", "b", "c"]
    assert parents_first(["x", "y"], [("x", "y"), ("y", "x")]) == ["x", "y"]


def _candidate(own: tuple[frozenset[str], ...] = ()) -> Candidate:
    statement = Statement("r", 1, 1, 1.0, 1.0, 1.0, 1, 0, 0, "select 1")
    return Candidate(
        "svc", "r", "g", ("s",), statement, {"s.t": ("p",)}, {"s.t": (frozenset({"s.o"}),)}, own, 0
    )


def _scan(*children: dict[str, object]) -> dict[str, object]:
    return {"Node Type": "Seq Scan", "Schema": "s", "Relation Name": "t", "Plans": list(children)}


SUB_PLAN = {
    "Node Type": "Index Scan",
    "Parent Relationship": "SubPlan",
    "Schema": "s",
    "Relation Name": "o",
}
INIT_PLAN = {"Node Type": "Result", "Parent Relationship": "InitPlan"}


@pytest.mark.parametrize(
    ("plan", "own", "shape"),
    [
        (_scan(SUB_PLAN), (), "per-row sub-plan"),
        (_scan(SUB_PLAN), (frozenset({"s.o"}),), "ambiguous"),
        (_scan(SUB_PLAN), (frozenset({"s.q"}),), "per-row sub-plan"),
        ({"Node Type": "Update", "Plans": [INIT_PLAN, _scan()]}, (), "init-plan"),
        (_scan(), (), "folded"),
    ],
)
def test_plan_shapes(plan: dict[str, object], own: tuple[frozenset[str], ...], shape: str) -> None:
    assert plan_shapes(plan, _candidate(own)) == {"s.t": shape}


@pytest.mark.parametrize(
    ("text", "ms"),
    [("5000", 5000), ("5s", 5000), ("1min", 60_000), ("250ms", 250), ("0", None), (None, None)],
)
def test_durations_as_postgresql_reads_them(text: str | None, ms: int | None) -> None:
    assert parse_duration_ms(text) == ms


def test_label_values_are_escaped_for_the_text_format() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_a_thresholds_file_is_checked_with_its_positions(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("connections: {warning: 0.9, error: 0.5}\ncache_hit: {warning: 2}\nfoo: 1\n")
    with pytest.raises(ValidationFailed) as raised:
        load_thresholds(path)
    assert [str(i) for i in raised.value.issues] == [
        f"{path}:1:1: connections: error must be at or above warning",
        f"{path}:2:1: cache_hit.error: required field is missing",
        f"{path}:2:13: cache_hit.warning: Input should be less than or equal to 1",
        f"{path}:3:1: foo: unknown field",
    ]
    assert load_thresholds(None) == Thresholds()


def test_every_check_has_a_permanent_code_and_the_readme_lists_it() -> None:
    codes = [c.code for c in CHECKS]
    assert codes == [f"IN{n:02d}" for n in range(1, len(codes) + 1)]
    readme = (ROOT / "README.md").read_text()
    for check in CHECKS:
        assert f"| {check.code} |" in readme, check.code
        assert (check.run.__doc__ or "").startswith(f"{check.code}: "), check.code
