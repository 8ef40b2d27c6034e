"""Policy expressions: the plan's text against PostgreSQL's own rendering, on a real server.

Each expression is installed the way the platform installs it (rowpolicy +
rls.statements), read back with pg_get_expr exactly as the audit reads it (search_path =
pg_catalog), and compared with `same_expression`. All of it inside a transaction that is
rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from edulink_db.plan.model import PolicyPlan
from edulink_db.rls.compare import same_expression
from edulink_db.rls.statements import create_policy
from edulink_db.rowpolicy import per_row_calls, render_expression
from tests.support.deploy import Deployment

SCHEMA, TABLE = "audit_scratch", "scratch"

SAME = [
    "true",
    "false",
    "deleted_at is null",
    "coalesce(current_setting('edulink.acting_profile_id', true), '') = ''"
    " or profile_id = current_setting('edulink.acting_profile_id', true)::uuid",
    "email like '%@example.org'",
    "email ilike 'A%' and not (email like '%.invalid')",
    "status in ('draft', 'submitted')",
    "status not in ('withdrawn')",
    "n between 1 and 5",
    "n not between 1 and 5",
    "n = -1",
    "n > 1.5",
    "lower(email) = 'ada@example.org'",
    "created_at > now() - interval '1 day'",
    "user_id = auth.uid()",
    "(auth.jwt() ->> 'role') = 'admin'",
    "exists (select 1 from audit_scratch.other o where o.id = scratch.n)",
    "scratch.n = 1",
    "current_user = 'bob'",
    "a and b and c",
    "case when n > 1 then true else false end",
]

DIFFERENT = [
    ("n = 1", "n = 2"),
    ("deleted_at is null", "deleted_at is not null"),
    ("status in ('draft', 'submitted')", "status in ('draft', 'withdrawn')"),
    ("email like 'a%'", "email ilike 'a%'"),
    ("n between 1 and 5", "n between 1 and 6"),
    ("user_id = auth.uid()", "user_id <> auth.uid()"),
    ("true", "false"),
    ("a and b", "a or b"),
    (
        "exists (select 1 from audit_scratch.other o where o.id = scratch.n)",
        "exists (select 1 from audit_scratch.other o where o.id > scratch.n)",
    ),
]


@pytest.fixture
def scratch(prod: Deployment) -> Iterator[psycopg.Connection[Any]]:
    """A schema with one table, in a transaction rolled back at the end."""
    with prod.superuser() as conn:
        conn.autocommit = False
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(
            f"CREATE TABLE {SCHEMA}.{TABLE} (n int, email varchar(100), status text,"
            " deleted_at timestamptz, created_at timestamptz, profile_id uuid, user_id uuid,"
            " a bool, b bool, c bool)"
        )
        conn.execute(f"CREATE TABLE {SCHEMA}.other (id int)")
        try:
            yield conn
        finally:
            conn.rollback()


def install(conn: psycopg.Connection[Any], name: str, text: str) -> str:
    """Install as the platform does and return pg_get_expr's text, as the audit reads it."""
    policy = PolicyPlan(
        service="scratch",
        schema=SCHEMA,
        table=TABLE,
        owner="postgres",
        name=name,
        command="select",
        permissive=True,
        roles=("postgres",),
        using=render_expression(text),
        with_check=None,
    )
    conn.execute(create_policy(policy))
    return live(conn, name)


def live(conn: psycopg.Connection[Any], name: str) -> str:
    conn.execute("SET LOCAL search_path = pg_catalog")
    row = conn.execute(
        "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polname = %s", (name,)
    ).fetchone()
    conn.execute("RESET search_path")
    assert row is not None
    return str(row[0])


def test_the_platforms_expressions_equal_what_postgresql_stored(
    scratch: psycopg.Connection[Any],
) -> None:
    for index, text in enumerate(SAME):
        stored = install(scratch, f"p{index}", text)
        assert same_expression(render_expression(text), stored, SCHEMA, TABLE), (text, stored)


def test_a_changed_expression_is_a_difference(scratch: psycopg.Connection[Any]) -> None:
    for index, (planned, altered) in enumerate(DIFFERENT):
        name = f"d{index}"
        install(scratch, name, planned)
        scratch.execute(
            sql.SQL("ALTER POLICY {} ON {} USING ({})").format(
                sql.Identifier(name),
                sql.Identifier(SCHEMA, TABLE),
                sql.SQL(render_expression(altered)),
            )
        )
        stored = live(scratch, name)
        assert not same_expression(render_expression(planned), stored, SCHEMA, TABLE), (
            planned,
            stored,
        )


def test_per_row_calls_are_found_in_postgresqls_rendering(
    scratch: psycopg.Connection[Any],
) -> None:
    raw = "user_id = auth.uid() and coalesce(current_setting('x.y', true), '') <> ''"
    scratch.execute(
        sql.SQL("CREATE POLICY raw ON {} USING ({})").format(
            sql.Identifier(SCHEMA, TABLE), sql.SQL(raw)
        )
    )
    assert sorted(per_row_calls(live(scratch, "raw"))) == ["auth.uid()", "current_setting()"]
    # What the platform installs is wrapped, so the lint has nothing to say about it.
    assert per_row_calls(install(scratch, "wrapped", raw)) == []
    # A call whose argument names a column differs per row: it is left alone.
    assert per_row_calls("current_setting(name_column) = 'x'") == []
