"""The real thing: `pulumi preview / up / refresh / destroy` with the Pulumi CLI, the Python
language host and our bridged `pulumi-resource-postgresql`, built from Go modules
(tools/pulumi), on a disposable Supabase-like cluster. Every assertion about what the engine
did reads its JSON (`--json`), never its text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from edulink_db.project import Project, load_project
from tests.support.cluster import ADMIN_PASSWORD, Cluster
from tests.support.deploy import admin_connection
from tests.support.probes import probe_matrix
from tests.support.program import run_program
from tests.support.pulumi_cli import Workspace, changes, summary, workspace
from tests.support.replay import replay
from tests.support.report import register_secret
from tests.support.snapshot import snapshot

PROD: dict[str, Any] = {
    "edulink-db:disposable": False,
    "edulink-db:protected": True,
    "edulink-db:limits": {"connectionLimit": 6, "statementTimeoutMs": 20000},
}
DEV: dict[str, Any] = {"edulink-db:disposable": True, "edulink-db:protected": False}
RLS = "pulumi-python:dynamic/edulink-db:RowLevelSecurity"
MIGRATIONS = "pulumi-python:dynamic/edulink-db:ServiceMigrations"


def _config(ws: Workspace) -> dict[str, str]:
    """The stack's config as the program receives it (structured values as JSON)."""
    result = ws.pulumi("config", "--json", "--show-secrets", "--stack", ws.stack)
    return {
        k: v["value"] if isinstance(v["value"], str) else json.dumps(v["value"])
        for k, v in json.loads(result.stdout).items()
    }


def _project(ws: Workspace) -> Project:
    return load_project(ws.folder, ws.stack, _config(ws), ["edulink-db:adminPassword"])


def _superuser(ws: Workspace) -> psycopg.Connection[Any]:
    return psycopg.connect(ws.cluster.superuser_dsn(ws.database), autocommit=True)


def _platform(ws: Workspace, project: Project) -> dict[str, list[tuple[Any, ...]]]:
    roles = [r.name for s in project.plan.services for r in (s.group, s.login)]
    with _superuser(ws) as conn:
        return snapshot(conn, roles, [s.schema.name for s in project.plan.services])


def _probe(ws: Workspace, project: Project) -> None:
    passwords = ws.passwords()
    for password in passwords.values():
        register_secret(password)
    report = probe_matrix(ws.cluster, ws.database, passwords, project)
    assert report.mismatches == []
    assert report.count()["allowed"] > 1000


@pytest.fixture
def fresh(pg_cluster: Cluster) -> Iterator[str]:
    pg_cluster.reset()
    yield pg_cluster.create_database()
    pg_cluster.reset()


def test_prod_preview_up_noop_refresh_tamper_secrets_and_protect(
    pg_cluster: Cluster, fresh: str, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, "prod", pg_cluster, fresh, PROD)
    project = _project(ws)

    planned = ws.preview()
    ops = {op for op, _ in changes(planned["steps"])}
    assert ops == {"create"}
    creates = summary(planned)["create"]
    assert creates > 80

    done = ws.up()
    assert summary(done) == {"create": creates}
    _probe(ws, project)

    again = ws.up()
    assert summary(again) == {}, changes(again.get("steps", []))

    refreshed = ws.refresh()
    assert summary(refreshed) == {}, changes(refreshed.get("steps", []))

    with _superuser(ws) as conn:
        conn.execute("DROP POLICY user_service_role_all ON user_schema.preferences")
    ws.refresh()
    restore = ws.preview()
    urns = [urn for op, urn in changes(restore["steps"])]
    assert [op for op, _ in changes(restore["steps"])] == ["update"]
    assert urns[0].endswith("::user-row-level-security")
    assert summary(ws.up()) == {"update": 1}
    with _superuser(ws) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_policies WHERE policyname = 'user_service_role_all'"
            " AND tablename = 'preferences'"
        ).fetchone() == (1,)

    checkpoint = ws.checkpoint_text()
    for secret in [ADMIN_PASSWORD, *ws.passwords().values()]:
        assert secret not in checkpoint

    before = _platform(ws, project)
    # With its preview (the default), destroy stops at the protected resources before it
    # deletes anything. With --skip-preview the engine deletes the unprotected ones (grants,
    # memberships) first: README, "Stacks and secrets".
    refused = ws.pulumi("destroy", "--yes", "--stack", ws.stack, check=False)
    assert refused.returncode != 0
    assert "cannot be deleted\n    because it is protected" in refused.stdout + refused.stderr
    assert _platform(ws, project) == before


def test_dev_change_shows_exactly_its_updates_then_destroy(
    pg_cluster: Cluster, fresh: str, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, "dev", pg_cluster, fresh, DEV)
    with _superuser(ws) as conn:  # what is not the platform's, and must stay as it is
        conn.execute("CREATE SCHEMA bystander")
        outside = snapshot(conn, ["postgres"], ["bystander", "public", "auth"])
    ws.up()
    (ws.folder / "migrations/notification/0002_digest_runs.sql").write_text(
        "create table notification_schema.digest_runs (\n"
        "    id uuid primary key default gen_random_uuid()\n);\n"
    )
    catalogue = ws.folder / "catalogue.yaml"
    text = catalogue.read_text()
    text = text.replace(
        "      delivery_preferences: {sensitive: true}\n",
        "      delivery_preferences: {sensitive: true}\n      digest_runs: {}\n",
    )
    old_read = (
        "        columns: [id, user_id, first_name, last_name]\n"
        "        row_filter: deleted_at is null   # soft-deleted profiles are invisible to other services\n"
        "\n  application:"
    )
    assert text.count(old_read) == 1
    catalogue.write_text(
        text.replace(
            old_read,
            "        columns: [id, user_id, first_name, last_name, display_name]\n"
            "        row_filter: deleted_at is null   # soft-deleted profiles are invisible to other services\n"
            "\n  application:",
        )
    )
    planned = changes(ws.preview()["steps"])
    names = sorted((op, urn.rsplit("::", 1)[1]) for op, urn in planned)
    assert names == [
        ("replace", "notification-select-user_schema-user_profiles"),
        ("update", "notification-migrations"),
    ], planned
    ws.up()
    _probe(ws, _project(ws))
    assert summary(ws.up()) == {}

    project = _project(ws)
    gone = ws.destroy()
    assert set(summary(gone)) == {"delete"}
    roles = [r.name for s in project.plan.services for r in (s.group, s.login)]
    with _superuser(ws) as conn:
        assert (
            conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (roles,)
            ).fetchall()
            == []
        )
        schemas = [s.schema.name for s in project.plan.services]
        assert (
            conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (schemas,)
            ).fetchall()
            == []
        )
        assert snapshot(conn, ["postgres"], ["bystander", "public", "auth"]) == outside


def test_the_policy_pack_passes_the_program_and_names_the_rule_it_breaks(
    pg_cluster: Cluster, fresh: str, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, "prod", pg_cluster, fresh, PROD)
    pack = str(Path(__file__).resolve().parents[2] / "policies")
    ws.pulumi("preview", "--stack", ws.stack, "--policy-pack", pack)
    (ws.folder / "__main__.py").write_text(
        (ws.folder / "__main__.py").read_text() + "\nimport pulumi_postgresql as _pg\n"
        "_pg.Grant('public-usage', role='public', database='postgres', object_type='schema',"
        " schema='auth_schema', privileges=['USAGE'])\n"
    )
    broken = ws.pulumi("preview", "--stack", ws.stack, "--policy-pack", pack, check=False)
    assert broken.returncode != 0
    assert "IS01" in broken.stdout + broken.stderr


def test_the_real_engine_and_the_replay_reach_the_same_catalog(
    pg_cluster: Cluster, fresh: str, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, "dev", pg_cluster, fresh, DEV)
    ws.up()
    project = _project(ws)
    real = _platform(ws, project)
    # The replay gets a database of its own (roles are cluster-wide: reset first).
    pg_cluster.reset()
    database = pg_cluster.create_database()
    config = _config(ws)
    target = {**json.loads(config["edulink-db:target"]), "database": database}
    config["edulink-db:target"] = json.dumps(target)
    recording = run_program("dev", config, ["edulink-db:adminPassword"], ws.folder / "__main__.py")
    replay(recording, pg_cluster.admin_dsn(database), admin_connection(pg_cluster, database))
    roles = [r.name for s in project.plan.services for r in (s.group, s.login)]
    with psycopg.connect(pg_cluster.superuser_dsn(database), autocommit=True) as conn:
        replay_state = snapshot(conn, roles, [s.schema.name for s in project.plan.services])
    assert replay_state == real
