"""The program's whole lifecycle through the engine's data path: the SDK's provider host
drives every dynamic resource (tests/support/engine.py), a checkpoint keeps id, inputs and
outputs per URN, and each scenario asserts exactly the engine operations it saw."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from edulink_db.project import Project, load_project
from tests.support.cluster import Cluster
from tests.support.deploy import admin_connection
from tests.support.engine import Engine, Op, ProtectedError
from tests.support.probes import probe_matrix
from tests.support.program import Recording, run_program, stack_config, with_admin_password
from tests.support.provider_host import ProviderError, ProviderHost
from tests.support.replay import DYNAMIC, SKIPPED_PREFIXES, create_dynamic
from tests.support.snapshot import snapshot

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("__main__.py", "catalogue.yaml", "migrations", "legacy")


@dataclass
class Stack:
    """One stack of a copy of the project, deployed by the engine onto a fresh database."""

    name: str
    root: Path
    cluster: Cluster
    database: str
    engine: Engine

    def program(self) -> Recording:
        config, secret = with_admin_password(stack_config(self.name, ROOT))
        return run_program(
            self.name, config, secret, self.root / "__main__.py", kept=self.engine.kept()
        )

    def project(self) -> Project:
        config, secret = with_admin_password(stack_config(self.name, ROOT))
        return load_project(self.root, self.name, config, secret)

    def up(self) -> tuple[Recording, list[Op]]:
        recording = self.program()
        return recording, self.engine.up(recording)

    def superuser(self) -> psycopg.Connection[object]:
        return psycopg.connect(self.cluster.superuser_dsn(self.database), autocommit=True)

    def edit(self, path: str, old: str, new: str) -> None:
        file = self.root / path
        text = file.read_text()
        assert text.count(old) == 1, f"{old!r} is not once in {path}"
        file.write_text(text.replace(old, new))


def _stack(cluster: Cluster, name: str, folder: Path) -> Stack:
    for item in PROJECT_FILES:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, folder / item)
        else:
            shutil.copy(source, folder / item)
    cluster.reset()
    database = cluster.create_database()
    engine = Engine(cluster.admin_dsn(database), admin_connection(cluster, database))
    return Stack(name, folder, cluster, database, engine)


@pytest.fixture(params=["prod", "dev"])
def stack(pg_cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    yield _stack(pg_cluster, request.param, tmp_path)
    pg_cluster.reset()


@pytest.fixture
def prod(pg_cluster: Cluster, tmp_path: Path) -> Iterator[Stack]:
    yield _stack(pg_cluster, "prod", tmp_path)
    pg_cluster.reset()


@pytest.fixture
def dev(pg_cluster: Cluster, tmp_path: Path) -> Iterator[Stack]:
    yield _stack(pg_cluster, "dev", tmp_path)
    pg_cluster.reset()


def _show(title: str, ops: list[Op]) -> None:
    print(f"{title}: {len(ops)} operations")
    for op, urn in ops:
        print(f"  {op:8} {urn}")


def _probe(stack: Stack, recording: Recording) -> None:
    report = probe_matrix(stack.cluster, stack.database, recording, stack.project())
    assert report.mismatches == []
    assert report.count()["allowed"] > 0


def _urn(recording: Recording, name: str) -> str:
    return recording.by_name(name).urn


def _platform_snapshot(stack: Stack, project: Project) -> dict[str, list[tuple[object, ...]]]:
    roles = [r.name for s in project.plan.services for r in (s.group, s.login)]
    with stack.superuser() as conn:
        return snapshot(conn, roles, [s.schema.name for s in project.plan.services])


def test_up_then_up_again_changes_nothing(stack: Stack) -> None:
    recording, first = stack.up()
    _show("up", first)
    assert [op for op, _ in first] == ["create"] * len(recording.resources)
    assert {urn for _, urn in first} == {r.urn for r in recording.resources}
    _probe(stack, recording)

    again, second = stack.up()
    _show("up again", second)
    assert second == []
    assert again.outputs.keys() == recording.outputs.keys()
    refreshed = stack.engine.refresh()
    _show("refresh", refreshed)
    assert refreshed == []


def test_a_change_updates_only_what_it_touches(stack: Stack) -> None:
    before, _ = stack.up()
    (stack.root / "migrations/notification/0002_digest_runs.sql").write_text(
        "create table notification_schema.digest_runs (\n"
        "    id     uuid        primary key default gen_random_uuid(),\n"
        "    ran_at timestamptz not null default now()\n);\n"
    )
    stack.edit(
        "catalogue.yaml",
        "      delivery_preferences: {sensitive: true}\n",
        "      delivery_preferences: {sensitive: true}\n      digest_runs: {}\n",
    )
    stack.edit(  # the notification service reads one more column, of fewer rows
        "catalogue.yaml",
        "        columns: [id, user_id, first_name, last_name]\n"
        "        row_filter: deleted_at is null   # soft-deleted profiles are invisible to other services\n"
        "\n  application:",
        "        columns: [id, user_id, first_name, last_name, display_name]\n"
        "        row_filter: deleted_at is null and role <> 'institution_staff'\n"
        "\n  application:",
    )
    stack.edit(  # a new custom policy
        "catalogue.yaml",
        "      profile_history: {sensitive: true}\n",
        "      profile_history:\n        sensitive: true\n        policies:\n"
        "          - {name: profile_history_no_update, command: update, roles: [user],"
        ' restrictive: true, using: "false"}\n',
    )
    stack.edit(  # a removed custom policy
        "catalogue.yaml",
        "          - name: security_logs_no_delete\n            command: delete\n"
        "            roles: [auth]\n            restrictive: true\n"
        '            using: "false"\n',
        "",
    )

    after, ops = stack.up()
    _show("up after the change", ops)
    grant = [
        r.urn
        for r in after.of_type("postgresql:index/grant:Grant")
        if r.inputs.get("role") == "notification_service_role"
        and r.inputs.get("objects") == ["user_profiles"]
    ]
    # Columns are ForceNew for pulumi-postgresql's Grant: the one grant that changed is
    # replaced (revoke, then grant); every dynamic resource is updated in place.
    assert sorted(ops) == sorted(
        [
            ("update", _urn(after, "notification-migrations")),
            ("update", _urn(after, "notification-row-level-security")),
            ("update", _urn(after, "user-row-level-security")),
            ("update", _urn(after, "auth-row-level-security")),
            *(("replace", urn) for urn in grant),
        ]
    )
    assert len(grant) == 1
    assert before.by_urn().keys() == after.by_urn().keys()
    _probe(stack, after)
    with stack.superuser() as conn:
        policies = {
            row[0]
            for row in conn.execute("SELECT policyname FROM pg_policies WHERE schemaname <> 'auth'")
        }
        assert "profile_history_no_update" in policies
        assert "security_logs_no_delete" not in policies
        assert conn.execute("SELECT to_regclass('notification_schema.digest_runs')").fetchone() != (
            None,
        )
    assert stack.up()[1] == []


def test_renaming_a_schema_in_a_disposable_stack_leaves_no_orphan(dev: Stack) -> None:
    dev.up()
    dev.edit(
        "catalogue.yaml",
        "  notification:\n    description:",
        "  notification:\n    schema: messaging_schema\n    description:",
    )
    for file in (dev.root / "migrations/notification").glob("*.sql"):
        file.write_text(file.read_text().replace("notification_schema", "messaging_schema"))
    recording, ops = dev.up()
    _show("up after the rename", ops)
    replaced = {urn for op, urn in ops if op == "replace"}
    assert _urn(recording, "notification-migrations") in replaced
    assert all(op in ("update", "replace", "create", "delete") for op, _ in ops)
    with dev.superuser() as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
    assert "messaging_schema" in schemas and "notification_schema" not in schemas
    _probe(dev, recording)
    assert dev.up()[1] == []


def test_renaming_a_schema_in_a_protected_stack_is_refused_before_any_statement(
    prod: Stack,
) -> None:
    prod.up()
    project = prod.project()
    before = _platform_snapshot(prod, project)
    prod.edit(
        "catalogue.yaml",
        "  notification:\n    description:",
        "  notification:\n    schema: messaging_schema\n    description:",
    )
    for file in (prod.root / "migrations/notification").glob("*.sql"):
        file.write_text(file.read_text().replace("notification_schema", "messaging_schema"))
    statements = len(prod.engine.log.statements)
    with pytest.raises(ProtectedError, match=r"notification-migrations.*pulumi state unprotect"):
        prod.up()
    assert len(prod.engine.log.statements) == statements
    assert _platform_snapshot(prod, project) == before


def test_a_hand_tamper_is_refreshed_and_restored(stack: Stack) -> None:
    recording, _ = stack.up()
    with stack.superuser() as conn:
        conn.execute("DROP POLICY user_service_role_all ON user_schema.preferences")
        conn.execute("ALTER TABLE auth_schema.users NO FORCE ROW LEVEL SECURITY")
    refreshed = stack.engine.refresh()
    _show("refresh after the tamper", refreshed)
    assert sorted(refreshed) == sorted(
        [
            ("refresh", _urn(recording, "user-row-level-security")),
            ("refresh", _urn(recording, "auth-row-level-security")),
        ]
    )
    _, ops = stack.up()
    _show("up after the refresh", ops)
    assert sorted(ops) == sorted(("update", urn) for _, urn in refreshed)
    _probe(stack, recording)
    with stack.superuser() as conn:
        forced = conn.execute(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'auth_schema.users'::regclass"
        ).fetchone()
    assert forced == (True,)
    assert stack.engine.refresh() == []
    assert stack.up()[1] == []


def test_a_state_with_the_old_drift_marker_refreshes_updates_and_deletes(dev: Stack) -> None:
    """Before drift had its own field, a refresh stored a changed policy with the text
    "(changed outside the platform)" as its USING expression. A checkpoint that holds one
    still refreshes (twice), is updated back to the plan, and deletes."""
    recording, _ = dev.up()
    urn = _urn(recording, "auth-row-level-security")
    where = "schemaname = 'auth_schema' AND tablename = 'user_sessions'"
    policy = f"SELECT qual FROM pg_policies WHERE {where} AND policyname = 'auth_service_role_all'"
    with dev.superuser() as conn:
        planned = conn.execute(policy).fetchone()
        conn.execute(
            "ALTER POLICY auth_service_role_all ON auth_schema.user_sessions USING (false)"
        )
    state = dev.engine.checkpoint[urn]
    marked = [
        {**p, "using": "(changed outside the platform)"}
        if (p["table"], p["name"]) == ("user_sessions", "auth_service_role_all")
        else p
        for p in state.outputs["policies"]
    ]
    assert marked != state.outputs["policies"]
    state.outputs = legacy = {**state.outputs, "policies": marked}

    assert dev.engine.refresh() == [("refresh", urn)]
    assert dev.engine.checkpoint[urn].outputs["drifted"] == [
        ["auth_schema", "user_sessions", "auth_service_role_all"]
    ]
    assert dev.engine.refresh() == []
    _, ops = dev.up()
    assert ops == [("update", urn)]
    with dev.superuser() as conn:
        assert conn.execute(policy).fetchone() == planned
    assert dev.engine.refresh() == []
    assert dev.up()[1] == []

    state = dev.engine.checkpoint[urn]
    with ProviderHost() as host:
        host.delete(urn, state.id, state.inputs, legacy)
    with dev.superuser() as conn:
        assert conn.execute(f"SELECT policyname FROM pg_policies WHERE {where}").fetchall() == []


def test_a_lost_migration_history_is_refused_naming_the_files(stack: Stack) -> None:
    recording, _ = stack.up()
    with stack.superuser() as conn:
        conn.execute("DELETE FROM auth_schema.edulink_migrations")
    assert stack.engine.refresh() == [("refresh", _urn(recording, "auth-migrations"))]
    with pytest.raises(ProviderError, match=r"history of auth_schema was lost.*users"):
        stack.up()
    with stack.superuser() as conn:  # nothing ran again: the tables are as they were
        assert conn.execute("SELECT count(*) FROM auth_schema.edulink_migrations").fetchone() == (
            0,
        )


def test_a_rotated_admin_password_reaches_the_state(stack: Stack) -> None:
    recording, _ = stack.up()
    rotated = "rotated-admin-password-7Kq"
    with stack.superuser() as conn:
        conn.execute(f"ALTER ROLE postgres PASSWORD '{rotated}'")
    stack.engine.connection = {**stack.engine.connection, "password": rotated}
    try:
        _, ops = stack.up()
        _show("up after the rotation", ops)
        dynamic = {
            r.urn
            for r in recording.resources
            if r.type.startswith(DYNAMIC) and not r.type.startswith(SKIPPED_PREFIXES)
        }
        assert sorted(ops) == sorted(("update", urn) for urn in dynamic)
        assert stack.engine.refresh() == []  # refresh logs in with what the state now holds
        assert stack.up()[1] == []
    finally:
        with stack.superuser() as conn:
            conn.execute("ALTER ROLE postgres PASSWORD 'postgres-admin-pw'")


def test_destroying_dev_removes_the_platform_and_nothing_else(dev: Stack) -> None:
    project = dev.project()
    with dev.superuser() as conn:
        conn.execute("CREATE SCHEMA bystander")
        conn.execute("CREATE TABLE bystander.kept (id int)")
        outside = snapshot(conn, ["postgres", "authenticated"], ["bystander", "public", "auth"])
    recording, _ = dev.up()
    ops = dev.engine.destroy()
    assert Counter(op for op, _ in ops) == Counter({"delete": len(recording.resources)})
    assert dev.engine.checkpoint == {}
    roles = [r.name for s in project.plan.services for r in (s.group, s.login)]
    schemas = [s.schema.name for s in project.plan.services]
    with dev.superuser() as conn:
        assert (
            conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (roles,)
            ).fetchall()
            == []
        )
        assert (
            conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (schemas,)
            ).fetchall()
            == []
        )
        assert snapshot(conn, ["postgres", "authenticated"], ["bystander", "public", "auth"]) == (
            outside
        )


def test_destroying_prod_is_refused_by_protect(prod: Stack) -> None:
    prod.up()
    project = prod.project()
    before = _platform_snapshot(prod, project)
    with pytest.raises(ProtectedError, match="refusing"):
        prod.engine.destroy()
    assert _platform_snapshot(prod, project) == before
    assert prod.up()[1] == []


def test_the_harness_catches_the_with_check_crash(prod: Stack, tmp_path: Path) -> None:
    """Re-introduce the old reader (PolicyPlan(**p) without defaults) in a scratch copy of
    the code: the provider host, importing that copy, fails the create as `pulumi up` did."""
    scratch = tmp_path / "scratch"
    for package in ("edulink_db", "components"):
        shutil.copytree(ROOT / package, scratch / package)
    model = scratch / "edulink_db/plan/model.py"
    model.write_text(
        model.read_text()
        .replace("using: str | None = None", "using: str | None")
        .replace("with_check: str | None = None", "with_check: str | None")
    )
    apply = scratch / "edulink_db/rls/apply.py"
    reader = "state = from_wire(cls, {key: props.get(key) or [] for key in _STATE_FIELDS})"
    assert reader in apply.read_text()
    apply.write_text(
        apply.read_text().replace(
            reader,
            "state = cls(tuple(TableSecurityPlan(**t) for t in props.get('tables') or ()),"
            " tuple(PolicyPlan(**{**p, 'roles': tuple(p['roles'])})"
            " for p in props.get('policies') or ()))",
        )
    )
    recording, _ = prod.up()
    security = recording.by_name("auth-row-level-security")
    connection = prod.engine.connection
    with ProviderHost(scratch) as host, pytest.raises(ProviderError, match="with_check"):
        create_dynamic(host, security, connection)
    with ProviderHost() as host:  # the project's own code, through the same host, creates it
        id_, outputs = create_dynamic(host, security, connection)
    assert id_ == "auth.row-level-security"
    assert outputs == prod.engine.checkpoint[security.urn].outputs
