"""errors.Issue / ValidationFailed formatting and yamlsource positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from edulink_db.errors import Issue, ValidationFailed, ensure_no_issues
from edulink_db.yamlsource import format_path, load_yaml, parse_yaml


def test_issue_text_has_file_line_column_path_and_message() -> None:
    assert str(Issue("catalogue.yaml", "services.a", "bad", 3, 7)) == (
        "catalogue.yaml:3:7: services.a: bad"
    )
    assert str(Issue("m.sql", "", "bad", 4)) == "m.sql:4: bad"
    assert str(Issue("m.sql", "x", "bad", None, 9)) == "m.sql: x: bad"
    assert str(Issue("Pulumi.dev.yaml", "edulink-db:x", "bad")) == (
        "Pulumi.dev.yaml: edulink-db:x: bad"
    )


def test_validation_failed_sorts_deduplicates_and_lists_one_issue_per_line() -> None:
    late = Issue("b.yaml", "p", "second", 9, 1)
    early = Issue("b.yaml", "p", "first", 2, 5)
    other = Issue("a.sql", "", "zeroth", 40)
    failure = ValidationFailed([late, early, other, early])
    assert failure.issues == (other, early, late)
    assert str(failure) == (
        "3 problem(s) found, nothing was applied:\n"
        "  a.sql:40: zeroth\n"
        "  b.yaml:2:5: p: first\n"
        "  b.yaml:9:1: p: second"
    )


def test_ensure_no_issues_returns_on_nothing_and_raises_with_everything() -> None:
    ensure_no_issues([])
    with pytest.raises(ValidationFailed) as caught:
        ensure_no_issues(iter([Issue("f", "", "one"), Issue("f", "", "two")]))
    assert [i.message for i in caught.value.issues] == ["one", "two"]


def test_format_path() -> None:
    assert format_path(()) == ""
    assert format_path(("services", "user", "reads", 0, "table")) == "services.user.reads[0].table"
    assert format_path(("a", 1, 2, "b")) == "a[1][2].b"


def test_positions_point_at_keys_and_sequence_items() -> None:
    source = parse_yaml("a:\n  b:\n    - x\n    - {c: 1}\n", "f.yaml")
    assert source.data == {"a": {"b": ["x", {"c": 1}]}}
    assert source.positions[("a",)] == (1, 1)
    assert source.positions[("a", "b")] == (2, 3)
    assert source.positions[("a", "b", 0)] == (3, 7)
    assert source.positions[("a", "b", 1, "c")] == (4, 8)


def test_issue_falls_back_to_the_nearest_located_ancestor() -> None:
    source = parse_yaml("a:\n  b: 1\n", "f.yaml")
    assert str(source.issue(("a", "b", "missing", 3), "m")) == "f.yaml:2:3: a.b.missing[3]: m"
    assert str(source.issue((), "m")) == "f.yaml:1:1: m"


def test_duplicate_keys_are_all_reported_with_their_positions() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    with pytest.raises(ValidationFailed) as caught:
        parse_yaml(text, "f.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "f.yaml:4:3: b.c: key appears twice",
        "f.yaml:5:1: a: key appears twice",
    ]


def test_syntax_error_is_an_issue_with_its_position() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_yaml("a: [1, 2\nb: 3\n", "f.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "f.yaml:2:2: invalid YAML: expected ',' or ']', but got ':'"
    ]


def test_empty_document_is_none() -> None:
    source = parse_yaml("# only a comment\n", "f.yaml")
    assert source.data is None
    assert source.positions == {}


def test_unreadable_file_is_an_issue(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_yaml(tmp_path / "absent.yaml", "catalogue.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "catalogue.yaml: cannot read file: No such file or directory"
    ]


def test_an_issue_in_a_value_points_at_its_word_in_every_scalar_style() -> None:
    text = (
        "a:\n"
        "  plain: deleted_at is null and deleted_at > now()\n"
        "  quoted: \"x = 'y' and id = 1\"\n"
        "  folded: &f >-\n"
        "    id = coalesce(\n"
        "      null,\n"
        "      id)\n"
        "  alias: *f\n"
    )
    source = parse_yaml(text, "f.yaml")
    plain = source.data["a"]["plain"]
    assert str(source.issue_in_value(("a", "plain"), plain.rindex("deleted_at"), "m")) == (
        "f.yaml:2:33: a.plain: m"
    )
    # the second `=` of `x = 'y' and id = 1`, and the first
    assert str(source.issue_in_value(("a", "quoted"), 15, "m")) == "f.yaml:3:27: a.quoted: m"
    assert str(source.issue_in_value(("a", "quoted"), 2, "m")) == "f.yaml:3:14: a.quoted: m"
    folded = source.data["a"]["folded"]
    assert str(source.issue_in_value(("a", "folded"), folded.rindex("id"), "m")) == (
        "f.yaml:7:7: a.folded: m"
    )
    # an alias is written where its anchor is
    assert str(source.issue_in_value(("a", "alias"), 0, "m")) == "f.yaml:5:5: a.alias: m"
    # a word the file does not hold as written (an escape) falls back to the key
    escaped = parse_yaml('k: "a\\x41b = 1"\n', "e.yaml")
    assert str(escaped.issue_in_value(("k",), 0, "m")) == "e.yaml:1:1: k: m"
