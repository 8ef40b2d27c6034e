"""Tables and row-level security as the replayed prod stack leaves them, on a real server.

Data is written as the services themselves (their login roles, under FORCE ROW LEVEL
SECURITY), so every assertion is about what a service really sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from edulink_db.connection import ConnectionSettings
from edulink_db.project import Project
from edulink_db.rls.apply import SecurityState, apply_changes, plan_changes, read_state
from edulink_db.rowpolicy import per_row_calls
from tests.support.deploy import Deployment, sqlstate_of


@pytest.fixture(scope="module")
def people(prod: Deployment) -> dict[str, uuid.UUID]:
    """Two accounts with profiles (one soft-deleted), one account with only a delivery
    preference, written by the owning services."""
    ids = {name: uuid.uuid4() for name in ("ada", "bob", "cyd", "ada_profile", "bob_profile")}
    with prod.login("auth") as auth:
        for name in ("ada", "bob", "cyd"):
            auth.execute(
                "INSERT INTO users (id, email) VALUES (%s, %s)", (ids[name], f"{name}@example.org")
            )
    with prod.login("user") as user:
        user.execute(
            "INSERT INTO user_profiles (id, user_id, first_name, last_name, role) VALUES"
            " (%s, %s, 'Ada', 'Lovelace', 'student'), (%s, %s, 'Bob', 'Gone', 'student')",
            (ids["ada_profile"], ids["ada"], ids["bob_profile"], ids["bob"]),
        )
        user.execute(
            "UPDATE user_profiles SET deleted_at = now() WHERE id = %s", (ids["bob_profile"],)
        )
    with prod.login("notification") as notification:
        channel = notification.execute(
            "INSERT INTO notification_channels (code, display_name) VALUES ('email', 'E-mail') RETURNING id"
        ).fetchone()
        assert channel is not None
        notification.execute(
            "INSERT INTO delivery_preferences (user_id, channel_id, category) VALUES (%s, %s, 'account')",
            (ids["cyd"], channel[0]),
        )
    return ids


def test_replaying_prod_creates_all_29_tables_with_indexed_foreign_keys(
    prod: Deployment, project: Project
) -> None:
    schemas = [s.schema.name for s in project.plan.services]
    with prod.superuser() as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = ANY(%s) AND tablename <> 'edulink_migrations'",
            (schemas,),
        ).fetchone()
        unindexed = conn.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
            WHERE c.contype = 'f' AND c.connamespace::regnamespace::text = ANY(%s)
              AND NOT EXISTS (
                SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                  AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey)
            """,
            (schemas,),
        ).fetchall()
        foreign_keys = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace::regnamespace::text = ANY(%s)",
            (schemas,),
        ).fetchone()
    assert tables == (29,)
    assert foreign_keys is not None and foreign_keys[0] > 30
    assert unindexed == []


def test_rls_is_enabled_and_forced_exactly_where_planned(
    prod: Deployment, project: Project
) -> None:
    planned = {(t.schema, t.table) for s in project.plan.services for t in s.row_security}
    schemas = [s.schema.name for s in project.plan.services]
    with prod.superuser() as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind = 'r'"
            " AND c.relname <> 'edulink_migrations'",
            (schemas,),
        ).fetchall()
        policies = conn.execute(
            "SELECT schemaname, tablename, policyname FROM pg_policies WHERE schemaname = ANY(%s)",
            (schemas,),
        ).fetchall()
    assert {(s, t) for s, t, on, forced in rows if on and forced} == planned
    assert {(s, t) for s, t, on, forced in rows if on or forced} == planned
    assert set(policies) == {
        (p.schema, p.table, p.name) for s in project.plan.services for p in s.policies
    }
    # every table of auth and user holds personal data or credentials
    assert {(s, t) for s, t in planned if s in ("auth_schema", "user_schema")} == {
        (s, t) for s, t, _on, _forced in rows if s in ("auth_schema", "user_schema")
    }


def test_defect_1_the_seed_policy_locks_the_owner_out(prod: Deployment) -> None:
    """`CREATE POLICY p ON t FOR ALL TO role` has no USING: NULL, so no row, and no insert."""
    with prod.login("institution") as conn:
        conn.execute("CREATE TABLE seed_policy_demo (id int)")
        try:
            conn.execute("ALTER TABLE seed_policy_demo ENABLE ROW LEVEL SECURITY")
            conn.execute("ALTER TABLE seed_policy_demo FORCE ROW LEVEL SECURITY")
            conn.execute("CREATE POLICY p ON seed_policy_demo FOR ALL TO institution_service_role")
            assert sqlstate_of(conn, "INSERT INTO seed_policy_demo VALUES (1)") == "42501"
        finally:
            conn.execute("DROP TABLE seed_policy_demo")


@pytest.mark.usefixtures("people")
def test_defects_1_and_6_the_owner_sees_and_writes_its_rows_under_force(
    prod: Deployment, people: dict[str, uuid.UUID]
) -> None:
    with prod.login("user") as user:
        assert user.execute("SELECT count(*) FROM user_profiles").fetchone() == (2,)
        assert (
            sqlstate_of(
                user, "UPDATE user_profiles SET bio = 'x' WHERE id = %s", (people["ada_profile"],)
            )
            is None
        )
    with prod.superuser() as conn:
        owner = conn.execute(
            "SELECT relforcerowsecurity, pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'user_schema.user_profiles'::regclass"
        ).fetchone()
    assert owner == (
        True,
        "user_service_role",
    )  # the service acts as the owner, and is still subject


@pytest.mark.usefixtures("people")
def test_a_restrictive_policy_binds_the_owner_too(prod: Deployment) -> None:
    """security_logs is append-only, for the auth service itself: FORCE makes that hold."""
    with prod.login("auth") as auth:
        auth.execute("INSERT INTO security_logs (event_type) VALUES ('login_succeeded')")
        assert auth.execute("UPDATE security_logs SET severity = 'high'").rowcount == 0
        assert auth.execute("DELETE FROM security_logs").rowcount == 0
        assert auth.execute("SELECT count(*) FROM security_logs").fetchone() == (1,)


def test_a_reader_sees_exactly_what_its_policy_admits(
    prod: Deployment, people: dict[str, uuid.UUID]
) -> None:
    for reader in ("application", "internship", "notification"):
        with prod.login(reader) as conn:
            rows = conn.execute(
                "SELECT id, first_name FROM user_schema.user_profiles ORDER BY 2"
            ).fetchall()
        assert rows == [(people["ada_profile"], "Ada")], (
            reader
        )  # the soft-deleted profile is filtered
    with prod.login("user") as user:
        emails = user.execute("SELECT email FROM auth_schema.users ORDER BY 1").fetchall()
    assert [e for (e,) in emails] == ["ada@example.org", "bob@example.org", "cyd@example.org"]


@pytest.mark.usefixtures("people")
def test_a_stray_grant_without_a_policy_sees_no_row(prod: Deployment) -> None:
    with prod.superuser() as conn:
        conn.execute("GRANT USAGE ON SCHEMA auth_schema TO institution_service_role")
        conn.execute("GRANT SELECT (id) ON auth_schema.users TO institution_service_role")
    try:
        with prod.login("institution") as conn:
            assert conn.execute("SELECT count(id) FROM auth_schema.users").fetchone() == (0,)
    finally:
        with prod.superuser() as conn:
            conn.execute("REVOKE SELECT (id) ON auth_schema.users FROM institution_service_role")
            conn.execute("REVOKE USAGE ON SCHEMA auth_schema FROM institution_service_role")


def test_with_check_blocks_a_write_outside_the_acting_profile(
    prod: Deployment, people: dict[str, uuid.UUID]
) -> None:
    with prod.login("user") as user:
        with user.transaction():
            user.execute(
                "SELECT set_config('edulink.acting_profile_id', %s, true)",
                (str(people["ada_profile"]),),
            )
            user.execute(
                "INSERT INTO preferences (profile_id) VALUES (%s)", (people["ada_profile"],)
            )
            with (
                pytest.raises(
                    psycopg.errors.InsufficientPrivilege, match="violates row-level security policy"
                ),
                user.transaction(),  # a savepoint, so the first insert survives
            ):
                user.execute(
                    "INSERT INTO preferences (profile_id) VALUES (%s)", (people["bob_profile"],)
                )
        assert user.execute("SELECT count(*) FROM preferences").fetchone() == (1,)


def test_reads_follow_the_acting_profile_and_an_empty_setting_sees_all(
    prod: Deployment, people: dict[str, uuid.UUID]
) -> None:
    """Acting for Ada: her row only. In the same session's next transaction the setting is
    '' (as on a pooled connection after SET LOCAL), and with no setting at all: every row."""
    profiles = [people["ada_profile"], people["bob_profile"]]
    with prod.superuser() as conn:
        added = [
            r[0]
            for r in conn.execute(
                "INSERT INTO user_schema.preferences (profile_id) SELECT unnest(%s::uuid[])"
                " ON CONFLICT (profile_id) DO NOTHING RETURNING id",
                (profiles,),
            )
        ]
    read = "SELECT profile_id FROM preferences ORDER BY profile_id = %s DESC"
    try:
        with prod.login("user") as user:
            assert len(user.execute(read, (profiles[0],)).fetchall()) == 2
            with user.transaction():
                user.execute(
                    "SELECT set_config('edulink.acting_profile_id', %s, true)", (str(profiles[0]),)
                )
                assert user.execute(read, (profiles[0],)).fetchall() == [(profiles[0],)]
            assert user.execute(
                "SELECT current_setting('edulink.acting_profile_id', true)"
            ).fetchone() == ("",)
            assert len(user.execute(read, (profiles[0],)).fetchall()) == 2
            with user.transaction():
                user.execute("SELECT set_config('edulink.acting_profile_id', 'nobody', true)")
                assert sqlstate_of(user, read, (profiles[0],)) == "22P02"
    finally:
        with prod.superuser() as conn:
            conn.execute("DELETE FROM user_schema.preferences WHERE id = ANY(%s)", (added,))


def test_policy_calls_are_evaluated_once_per_statement(prod: Deployment) -> None:
    with prod.superuser() as conn:
        qual = conn.execute(
            "SELECT qual FROM pg_policies WHERE policyname = 'preferences_acting_profile'"
        ).fetchone()
    assert qual is not None and "current_setting('edulink.acting_profile_id'" in qual[0]
    assert "( SELECT " in qual[0]
    assert per_row_calls(qual[0]) == []


def test_cross_schema_foreign_keys_follow_their_on_delete(
    prod: Deployment, people: dict[str, uuid.UUID]
) -> None:
    with prod.login("auth") as auth:
        # user_profiles.user_id is RESTRICT: an account with a profile cannot be deleted
        assert sqlstate_of(auth, "DELETE FROM users WHERE id = %s", (people["ada"],)) == "23503"
        # delivery_preferences.user_id is CASCADE: the preference goes with the account
        assert auth.execute("DELETE FROM users WHERE id = %s", (people["cyd"],)).rowcount == 1
    with prod.login("notification") as notification:
        assert notification.execute(
            "SELECT count(*) FROM delivery_preferences WHERE user_id = %s", (people["cyd"],)
        ).fetchone() == (0,)


@pytest.fixture
def security(
    prod: Deployment, project: Project
) -> Iterator[tuple[ConnectionSettings, SecurityState]]:
    """The auth service's planned RLS, and a connection to change it with; restored after."""
    settings = ConnectionSettings.from_mapping(prod.admin_connection())
    plan = project.plan.service("auth")
    state = SecurityState(plan.row_security, plan.policies)
    yield settings, state
    apply_changes(settings, plan_changes(read_state(settings, state), state))


def test_an_update_changes_only_what_changed(
    security: tuple[ConnectionSettings, SecurityState],
) -> None:
    settings, state = security
    first = state.policies[0]
    changed = SecurityState(
        state.tables,
        (first.__class__(**{**first.__dict__, "using": "id IS NOT NULL"}), *state.policies[1:]),
    )
    changes = plan_changes(state, changed)
    assert [c.says for c in changes] == [
        f"create policy {first.schema}.{first.table}.{first.name}"
    ] * 2
    apply_changes(settings, changes)
    assert read_state(settings, changed) == changed
    assert plan_changes(changed, changed) == []


def test_read_reports_changes_made_by_hand_and_update_restores(
    prod: Deployment, security: tuple[ConnectionSettings, SecurityState]
) -> None:
    settings, state = security
    assert read_state(settings, state) == state
    with prod.superuser() as conn:
        conn.execute("ALTER TABLE auth_schema.users NO FORCE ROW LEVEL SECURITY")
        conn.execute(
            "ALTER POLICY auth_service_role_all ON auth_schema.user_sessions USING (false)"
        )
        conn.execute("DROP POLICY security_logs_no_delete ON auth_schema.security_logs")
    live = read_state(settings, state)
    assert ("auth_schema", "users") not in {(t.schema, t.table) for t in live.tables}
    assert live.drifted == (("auth_schema", "user_sessions", "auth_service_role_all"),)
    assert set(live.policies) <= set(state.policies)  # each as planned: drift is named apart
    assert ("security_logs", "security_logs_no_delete") not in {
        (p.table, p.name) for p in live.policies
    }
    apply_changes(settings, plan_changes(live, state))
    assert read_state(settings, state) == state


def test_a_policy_widened_to_public_by_hand_is_reported_and_restored(
    prod: Deployment, security: tuple[ConnectionSettings, SecurityState]
) -> None:
    """PostgreSQL keeps `TO role, PUBLIC` as PUBLIC alone, role 0 in pg_policy.polroles, which
    no row of pg_roles names: the reader (the audit's) calls it `public`, and the policy
    differs from the plan."""
    settings, state = security
    with prod.superuser() as conn:
        conn.execute(
            "ALTER POLICY auth_service_role_all ON auth_schema.user_sessions"
            " TO auth_service_role, PUBLIC"
        )
    live = read_state(settings, state)
    assert live.drifted == (("auth_schema", "user_sessions", "auth_service_role_all"),)
    assert set(live.policies) <= set(state.policies)  # each as planned: drift is named apart
    apply_changes(settings, plan_changes(live, state))
    assert read_state(settings, state) == state
