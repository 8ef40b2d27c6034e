"""Policy expressions go through the one parser data-move transforms use (sqlexpr): what is
refused, and what is rendered from the parse tree, with per-statement calls wrapped."""

from __future__ import annotations

import pytest

from edulink_db.rowpolicy import (
    ExpressionError,
    owner_policy_name,
    per_statement_call,
    reader_policy_name,
    render_expression,
)
from edulink_db.sqlexpr import names_a_column, parse_one_expression


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("*", "must be exactly one expression"),
        ("a, b", "must be exactly one expression"),
        ("a AS b", "must be exactly one expression (no alias)"),
        ("1 = 1; select 1", "must be exactly one expression"),
        ("true FROM t", "must be exactly one expression"),
        ("true) ; drop table x; --", 'does not parse: syntax error at or near ")"'),
        ("true) WITH CHECK (false", 'does not parse: syntax error at or near ")"'),
    ],
)
def test_what_is_not_one_expression_is_refused(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        render_expression(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("true /* ) ; drop table x; */", "TRUE"),
        ("$$ drop table x $$", "' drop table x '"),
        ("user_id = auth.uid()", "user_id = (SELECT auth.uid())"),
        (
            "owner_id = current_setting('app.user', true)::uuid",
            "owner_id = CAST((SELECT current_setting('app.user', TRUE)) AS uuid)",
        ),
        ("(select auth.uid()) = user_id", "(SELECT auth.uid()) = user_id"),
        ("current_setting(name_column) = 'x'", "current_setting(name_column) = 'x'"),
        ("t.* IS NOT NULL", "t.* IS NOT NULL"),
    ],
)
def test_one_expression_is_rendered_from_its_tree(text: str, rendered: str) -> None:
    assert render_expression(text) == rendered


def test_a_call_is_per_statement_unless_it_names_a_column() -> None:
    assert per_statement_call(parse_one_expression("auth.uid()")) == "auth.uid"
    assert per_statement_call(parse_one_expression("current_setting(name_column)")) is None
    assert per_statement_call(parse_one_expression("lower('x')")) is None
    assert names_a_column(parse_one_expression("coalesce(1, x)"))
    assert not names_a_column(parse_one_expression("coalesce(1, 2)"))


def test_generated_policy_names_follow_the_group_role() -> None:
    class Service:
        group_role = "auth_service"

    assert owner_policy_name(Service()) == "auth_service_all"
    assert reader_policy_name(Service()) == "auth_service_read"
