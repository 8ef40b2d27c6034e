"""The migration runner and its dynamic provider, on a real server."""

from __future__ import annotations

import threading

import psycopg
import pytest

from edulink_db.connection import ConnectionSettings
from edulink_db.migrations.runner import MigrationError, apply_migrations, lock_key, read_history
from edulink_db.project import Project
from tests.support import scratch_service
from tests.support.cluster import Cluster
from tests.support.provider_host import CheckFailed
from tests.support.scratch_service import ROLE, SCHEMA, migrations_provider, provider_props, step


@pytest.fixture
def admin(pg_cluster: Cluster, database: str) -> ConnectionSettings:
    """An empty service: its group role owns its schema, and the admin is a member."""
    return scratch_service.create(pg_cluster, database)


def tables(settings: ConnectionSettings) -> list[tuple[str, str]]:
    with psycopg.connect(settings.conninfo()) as conn:
        return conn.execute(
            "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = %s ORDER BY 1",
            (SCHEMA,),
        ).fetchall()


def test_files_apply_in_order_as_the_group_and_again_as_a_no_op(admin: ConnectionSettings) -> None:
    steps = [
        step(2, "CREATE INDEX ON svc_schema.a (x)"),
        step(1, "CREATE TABLE svc_schema.a (x int)"),
    ]
    history = apply_migrations(admin, "svc", SCHEMA, ROLE, steps)
    assert [a.version for a in history] == [1, 2]
    assert tables(admin) == [("a", ROLE), ("edulink_migrations", ROLE)]
    again = apply_migrations(admin, "svc", SCHEMA, ROLE, steps)
    assert again == history
    with psycopg.connect(admin.conninfo()) as conn:
        applied_by = conn.execute(
            "SELECT DISTINCT applied_by FROM svc_schema.edulink_migrations"
        ).fetchall()
    assert applied_by == [("postgres",)]


def test_a_new_file_applies_alone(admin: ConnectionSettings) -> None:
    first = [step(1, "CREATE TABLE svc_schema.a (x int)")]
    apply_migrations(admin, "svc", SCHEMA, ROLE, first)
    history = apply_migrations(
        admin, "svc", SCHEMA, ROLE, [*first, step(2, "CREATE TABLE svc_schema.b (y int)")]
    )
    assert [a.version for a in history] == [1, 2]
    assert [t for t, _ in tables(admin)] == ["a", "b", "edulink_migrations"]


def test_an_edited_applied_file_is_refused_by_name(admin: ConnectionSettings) -> None:
    apply_migrations(
        admin, "svc", SCHEMA, ROLE, [step(1, "CREATE TABLE svc_schema.a (x int)", "baseline")]
    )
    edited = [
        step(1, "CREATE TABLE svc_schema.a (x bigint)", "baseline"),
        step(2, "CREATE TABLE svc_schema.b (y int)"),
    ]
    with pytest.raises(
        MigrationError, match=r"migrations/svc/0001_baseline.sql was changed after it was applied"
    ):
        apply_migrations(admin, "svc", SCHEMA, ROLE, edited)
    assert [t for t, _ in tables(admin)] == ["a", "edulink_migrations"]  # 0002 did not run either


def test_a_failing_file_leaves_nothing_and_the_next_run_resumes(admin: ConnectionSettings) -> None:
    good = step(1, "CREATE TABLE svc_schema.a (x int)")
    broken = step(
        2,
        "CREATE TABLE svc_schema.b (y int);\nINSERT INTO svc_schema.b VALUES ('not a number')",
        "broken",
    )
    with pytest.raises(MigrationError) as failure:
        apply_migrations(admin, "svc", SCHEMA, ROLE, [good, broken])
    assert str(failure.value).startswith("migrations/svc/0002_broken.sql failed")
    assert "[22P02]" in str(failure.value) and "nothing of this file was applied" in str(
        failure.value
    )
    assert [t for t, _ in tables(admin)] == ["a", "edulink_migrations"]  # no half of 0002
    assert [a.version for a in read_history(admin, SCHEMA) or []] == [1]
    fixed = step(
        2, "CREATE TABLE svc_schema.b (y int);\nINSERT INTO svc_schema.b VALUES (1)", "broken"
    )
    assert [a.version for a in apply_migrations(admin, "svc", SCHEMA, ROLE, [good, fixed])] == [
        1,
        2,
    ]


def test_a_migration_cannot_touch_what_its_group_may_not(admin: ConnectionSettings) -> None:
    """It runs as the group, not as the admin: another schema is out of reach."""
    with pytest.raises(
        MigrationError, match=r"\[42501\] permission denied for schema public|\[42501\]"
    ):
        apply_migrations(admin, "svc", SCHEMA, ROLE, [step(1, "CREATE TABLE extensions.x (a int)")])


def test_two_applies_at_once_serialise_on_the_advisory_lock(admin: ConnectionSettings) -> None:
    steps = [
        step(v, f"CREATE TABLE svc_schema.t{v} (x int); SELECT pg_sleep(0.05)") for v in range(1, 6)
    ]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            apply_migrations(admin, "svc", SCHEMA, ROLE, steps)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [a.version for a in read_history(admin, SCHEMA) or []] == [1, 2, 3, 4, 5]
    # The key is a digest, the same on every machine and major (hashtext() is not): pinned.
    assert lock_key(SCHEMA) == 2444825660323736083 and lock_key(SCHEMA) != lock_key("other_schema")


def test_provider_diff_lists_pending_files_and_check_refuses_edits(
    admin: ConnectionSettings,
) -> None:
    provider = migrations_provider()
    old = provider_props(admin, [step(1, "CREATE TABLE svc_schema.a (x int)", "baseline")], False)
    new = provider_props(
        admin,
        [step(1, "CREATE TABLE svc_schema.a (x int)", "baseline"), step(2, "SELECT 1", "more")],
        False,
    )
    assert provider.diff("id", old, new) is True
    assert new["files"][1].startswith("0002_more.sql sha256:")
    assert provider.diff("id", old, old) is False
    edited = provider_props(
        admin, [step(1, "CREATE TABLE svc_schema.a (y int)", "baseline")], False
    )
    with pytest.raises(CheckFailed) as refused:
        provider.check(old, edited)
    assert [prop for prop, _ in refused.value.failures] == ["steps"]
    assert (
        "migrations/svc/0001_baseline.sql was changed after it was applied"
        in refused.value.failures[0][1]
    )


@pytest.mark.parametrize("disposable", [False, True])
def test_delete_keeps_the_data_unless_the_stack_is_disposable(
    admin: ConnectionSettings, disposable: bool
) -> None:
    provider = migrations_provider()
    created = provider.create(
        provider_props(admin, [step(1, "CREATE TABLE svc_schema.a (x int)", "change")], disposable)
    )
    assert created.outs["applied"][0].startswith("0001_change.sql sha256:")
    provider.delete(created.id, created.outs)
    expected = [] if disposable else ["a", "edulink_migrations"]
    assert [t for t, _ in tables(admin)] == expected


def test_every_real_migration_applies_and_reapplies(
    admin: ConnectionSettings, pg_cluster: Cluster, database: str, project: Project
) -> None:
    """All services' baseline files on an empty database, in dependency order, with the
    schema USAGE and the REFERENCES the plan grants (what their foreign keys need)."""
    plan = project.plan
    wanted = plan.wanted_acl()
    with psycopg.connect(pg_cluster.superuser_dsn(database), autocommit=True) as conn:
        for service in plan.services:
            conn.execute(f"CREATE ROLE {service.group.name} NOLOGIN")
            conn.execute(f"GRANT {service.group.name} TO postgres")
            conn.execute(f"CREATE SCHEMA {service.schema.name} AUTHORIZATION {service.group.name}")
        for usage in (w for w in wanted if w.privilege == "USAGE"):
            conn.execute(f"GRANT USAGE ON SCHEMA {usage.schema} TO {usage.grantee}")
    for service in plan.services:  # producers first
        with psycopg.connect(pg_cluster.superuser_dsn(database), autocommit=True) as conn:
            for ref in wanted:
                if ref.privilege == "REFERENCES" and ref.grantee == service.group.name:
                    columns = ", ".join(ref.columns)
                    conn.execute(
                        f"GRANT REFERENCES ({columns}) ON {ref.schema}.{ref.table} TO {ref.grantee}"
                    )
        steps = list(service.migrations.steps)
        assert apply_migrations(admin, service.name, service.schema.name, service.group.name, steps)
        assert apply_migrations(admin, service.name, service.schema.name, service.group.name, steps)
    with psycopg.connect(pg_cluster.superuser_dsn(database)) as conn:
        schemas = [s.schema.name for s in plan.services]
        count = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = ANY(%s) AND tablename <> 'edulink_migrations'",
            (schemas,),
        ).fetchone()
    assert count == (29,)
