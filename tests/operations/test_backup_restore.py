"""Backup and restore of one service on the shared database.

The platform is prod replayed onto the session's server with all six services' legacy data
moved in, so auth's users are referenced by user profiles, notifications and (through the
profiles) applications. The round trip damages auth, restores it in place, and requires auth
to be back exactly, every other schema unchanged, and the platform's roles, grants, policies
and audit findings as they were. A restore that would orphan another service's rows is
refused before anything changes; a damaged file is refused; a drill restores into a scratch
database.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from edulink_db.audit.run import run_audit
from edulink_db.backup.manifest import Manifest
from edulink_db.project import Project
from tests.datamove.legacy_world import World
from tests.operations.conftest import (
    ROOT,
    SCHEMAS,
    Platform,
    moved_platform,
    operate,
    table_states,
)
from tests.support.cluster import Cluster
from tests.support.snapshot import snapshot

AUTH = "auth_schema"
OTHERS = [s for s in SCHEMAS if s != AUTH]
AUTH_TABLES = [
    "edulink_data_migrations",
    "users",
    "email_verification_tokens",
    "oauth_providers",
    "password_reset_tokens",
    "security_logs",
    "user_sessions",
]
SECURITY_LOGS = "data/security_logs.copy"
REFERENCES = [
    "notification_schema.delivery_preferences",
    "notification_schema.notification_history",
    "notification_schema.notification_queue",
    "user_schema.user_profiles",
]
# Every auth row no other service references is lost; referenced users are altered.
DAMAGE = """
DELETE FROM auth_schema.security_logs;
DELETE FROM auth_schema.user_sessions;
DELETE FROM auth_schema.edulink_data_migrations WHERE table_name <> 'users';
UPDATE auth_schema.users SET is_active = NOT is_active, email = 'lost-' || email,
    failed_login_attempts = failed_login_attempts + 7;
DELETE FROM auth_schema.users u
WHERE NOT EXISTS (SELECT FROM user_schema.user_profiles p WHERE p.user_id = u.id)
  AND NOT EXISTS (SELECT FROM notification_schema.notification_queue q WHERE q.user_id = u.id)
  AND NOT EXISTS (SELECT FROM notification_schema.notification_history h WHERE h.user_id = u.id)
  AND NOT EXISTS (SELECT FROM notification_schema.delivery_preferences d WHERE d.user_id = u.id);
"""


@pytest.fixture(scope="module")
def platform(pg_cluster: Cluster, world: World) -> Platform:
    return moved_platform(pg_cluster, world)


@pytest.fixture(scope="module")
def auth_backup(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backup") / "auth.zip"
    code, stdout, stderr = operate(
        "backup",
        "--service",
        "auth",
        "--out",
        str(out),
        "--root",
        str(ROOT),
        env={"EDULINK_DSN": platform.admin_dsn},
    )
    assert (code, stderr) == (0, ""), stdout
    return out


def _roles(project: Project) -> list[str]:
    return sorted({r for s in project.plan.services for r in (s.group.name, s.login.name)})


def _audit(platform: Platform, project: Project) -> list[tuple[str, str, str]]:
    report = run_audit(platform.admin_dsn, project.plan, project.catalogue.shapes)
    return [(f.code, f.object, f.message) for f in report.findings]


def test_the_manifest_describes_the_schema_as_the_backup_read_it(
    platform: Platform, auth_backup: Path
) -> None:
    with zipfile.ZipFile(auth_backup) as archive:
        manifest = Manifest.model_validate(json.loads(archive.read("manifest.json")))
        names = sorted(archive.namelist())
    with platform.superuser() as conn:
        live = table_states(conn, [AUTH])
    assert [t.name for t in manifest.tables] == AUTH_TABLES  # parents first
    assert [(m.version, m.name) for m in manifest.migrations] == [(1, "baseline")]
    assert manifest.git_commit is None or len(manifest.git_commit) == 40
    assert len(manifest.catalogue_sha256) == 64
    for table in manifest.tables:
        assert live[f"{AUTH}.{table.name}"][0] == table.rows
    assert manifest.table("users") is not None and manifest.table("users").rows == 30  # type: ignore[union-attr]
    assert sorted(r.table for r in manifest.references_in) == REFERENCES
    assert names == sorted(
        ["manifest.json", "definitions/0001_baseline.sql"] + [f"data/{t}.copy" for t in AUTH_TABLES]
    )


def test_backup_drop_restore_in_place_brings_auth_back_and_leaves_the_rest(
    platform: Platform, auth_backup: Path, project: Project
) -> None:
    with platform.superuser() as conn:
        before = table_states(conn, SCHEMAS)
        acl_before = snapshot(conn, _roles(project), SCHEMAS)
        conn.execute(DAMAGE.encode())
        damaged = table_states(conn, SCHEMAS)
    audit_before = _audit(platform, project)
    assert damaged["auth_schema.security_logs"][0] == 0
    assert damaged["auth_schema.users"] != before["auth_schema.users"]
    assert {k: v for k, v in damaged.items() if not k.startswith(AUTH)} == {
        k: v for k, v in before.items() if not k.startswith(AUTH)
    }

    code, stdout, stderr = operate(
        "restore",
        "--service",
        "auth",
        "--from",
        str(auth_backup),
        "--in-place",
        env={"EDULINK_DSN": platform.admin_dsn},
    )

    assert (code, stderr) == (0, ""), stdout
    lines = stdout.splitlines()
    assert lines[:7] == [
        "edulink_data_migrations: 6 rows verified",
        "users: 30 rows verified",
        "email_verification_tokens: 10 rows verified",
        "oauth_providers: 8 rows verified",
        "password_reset_tokens: 10 rows verified",
        "security_logs: 60 rows verified",
        "user_sessions: 40 rows verified",
    ]
    assert lines[7] == (
        "in place: 1 table(s) merged by primary key (users), 6 replaced; 4 foreign key(s) of "
        "other services checked, their rows unchanged"
    )
    with platform.superuser() as conn:
        after = table_states(conn, SCHEMAS)
        assert snapshot(conn, _roles(project), SCHEMAS) == acl_before
        forced = conn.execute(
            "SELECT bool_and(relrowsecurity AND relforcerowsecurity) FROM pg_class"
            " WHERE relnamespace = 'auth_schema'::regnamespace AND relkind = 'r'"
            " AND relname <> ALL(ARRAY['edulink_migrations', 'edulink_data_migrations'])"
        ).fetchone()
    assert after == before
    assert forced == (True,)
    assert _audit(platform, project) == audit_before


def test_a_restore_that_would_orphan_other_services_rows_is_refused_and_changes_nothing(
    platform: Platform, auth_backup: Path
) -> None:
    newcomer = "00000000-0000-4000-8000-00000000abcd"
    with platform.superuser() as conn:
        conn.execute(
            "INSERT INTO auth_schema.users (id, email) VALUES (%s, 'newcomer@example.org')",
            (newcomer,),
        )
        conn.execute(
            "INSERT INTO user_schema.user_profiles (id, user_id, first_name, last_name, role)"
            " VALUES ('00000000-0000-4000-8000-00000000beef', %s, 'New', 'Comer', 'student')",
            (newcomer,),
        )
        conn.execute(
            "INSERT INTO notification_schema.notification_queue (user_id, channel_id, subject,"
            " body, status) SELECT %s, id, 'hi', 'welcome', 'pending'"
            " FROM notification_schema.notification_channels LIMIT 1",
            (newcomer,),
        )
        conn.execute(
            "INSERT INTO application_schema.applications (profile_id, program_id, status)"
            " SELECT '00000000-0000-4000-8000-00000000beef', id, 'draft'"
            " FROM institution_schema.programs LIMIT 1"
        )
        conn.execute("DELETE FROM auth_schema.security_logs WHERE severity = 'info'")
        before = table_states(conn, SCHEMAS)

    code, stdout, stderr = operate(
        "restore",
        "--service",
        "auth",
        "--from",
        str(auth_backup),
        "--in-place",
        env={"EDULINK_DSN": platform.admin_dsn},
    )

    assert (code, stdout) == (1, "")
    assert stderr.splitlines() == [
        f"{auth_backup}: references.notification_schema.notification_queue: "
        "notification_schema.notification_queue holds 1 row(s) whose user_id reference "
        f"auth_schema.users rows the backup does not have (e.g. {newcomer}): restoring would "
        "orphan them (foreign key notification_queue_user_id_fkey)",
        f"{auth_backup}: references.user_schema.user_profiles: user_schema.user_profiles "
        "holds 1 row(s) whose user_id reference auth_schema.users rows the backup does not "
        f"have (e.g. {newcomer}): restoring would orphan them (foreign key "
        "user_profiles_user_id_fkey)",
        "2 problem(s) found; nothing was changed",
    ]
    with platform.superuser() as conn:
        assert table_states(conn, SCHEMAS) == before


def _changed(
    backup: Path, into: Path, change: Callable[[bytes], bytes], member: str = SECURITY_LOGS
) -> None:
    """A copy of the backup file with one member's bytes changed (its zip CRC made to match)."""
    with zipfile.ZipFile(backup) as source, zipfile.ZipFile(into, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, change(data) if item.filename == member else data)


def _refused_as_damaged(damaged: Path, dsn: str, *options: str) -> None:
    code, stdout, stderr = operate(
        "restore", "--service", "auth", "--from", str(damaged), *options, env={"EDULINK_DSN": dsn}
    )
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"error: {damaged}: data/security_logs.copy is not the file the manifest describes "
        "(SHA-256 differs)\n"
    )


def test_a_damaged_backup_file_is_refused_and_changes_nothing(
    platform: Platform, auth_backup: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged.zip"
    _changed(auth_backup, damaged, lambda data: data.replace(b"login_failed", b"login_falied", 1))
    with platform.superuser() as conn:
        before = table_states(conn, SCHEMAS)
    _refused_as_damaged(damaged, platform.admin_dsn, "--in-place")
    with platform.superuser() as conn:
        assert table_states(conn, SCHEMAS) == before


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data.replace(b"login_failed", b"login_falied", 1), id="a value"),
        pytest.param(lambda data: b"X" + data[1:], id="the COPY header"),
    ],
)
def test_a_damaged_backup_file_is_refused_by_a_drill_and_leaves_nothing(
    pg_cluster: Cluster,
    auth_backup: Path,
    tmp_path: Path,
    damage: Callable[[bytes], bytes],
) -> None:
    """A drill checks each member's SHA-256 as it streams it, inside its one transaction
    (the file is not read twice): the damaged member is named, whether the server would have
    taken its rows or not, and the scratch database keeps nothing."""
    damaged = tmp_path / "damaged.zip"
    _changed(auth_backup, damaged, damage)
    scratch = pg_cluster.create_database()
    _refused_as_damaged(damaged, pg_cluster.admin_dsn(scratch))
    with psycopg.connect(pg_cluster.superuser_dsn(scratch), autocommit=True) as conn:
        assert conn.execute("SELECT to_regnamespace('auth_schema')").fetchone() == (None,)


def test_a_backup_of_another_schema_history_is_refused(
    platform: Platform, auth_backup: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(auth_backup) as source, zipfile.ZipFile(other, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "manifest.json":
                document = json.loads(data)
                document["migrations"][0]["checksum"] = "0" * 64
                data = json.dumps(document).encode()
            target.writestr(item, data)
    code, stdout, stderr = operate(
        "restore",
        "--service",
        "auth",
        "--from",
        str(other),
        "--in-place",
        env={"EDULINK_DSN": platform.admin_dsn},
    )
    assert (code, stdout) == (1, "")
    assert stderr.splitlines() == [
        f"{other}: migrations: the backup was taken at migrations [0001_baseline], auth_schema "
        "is at [0001_baseline]: restore into a scratch database and move the rows over, or "
        "bring the schema to the backup's migrations",
        "1 problem(s) found; nothing was changed",
    ]


def test_a_drill_restores_into_a_scratch_database_verified(
    pg_cluster: Cluster, platform: Platform, tmp_path: Path
) -> None:
    out = tmp_path / "user.zip"
    env = {"EDULINK_DSN": platform.admin_dsn}
    code, _, stderr = operate("backup", "--service", "user", "--out", str(out), env=env)
    assert (code, stderr) == (0, "")
    scratch = pg_cluster.create_database()
    code, stdout, stderr = operate(
        "restore",
        "--service",
        "user",
        "--from",
        str(out),
        env={"EDULINK_DSN": pg_cluster.admin_dsn(scratch)},
    )
    assert (code, stderr) == (0, ""), stdout
    assert [line for line in stdout.splitlines() if line.startswith("left out")] == [
        "left out (its schema is not in this database): foreign key user_schema.user_profiles "
        "(user_id) → auth_schema.users (id)",
        "left out (its schema is not in this database): foreign key user_schema.user_profiles "
        "(institution_id) → institution_schema.institutions (id)",
        "left out (its schema is not in this database): foreign key "
        "user_schema.academic_information (institution_id) → institution_schema.institutions (id)",
        "left out (its schema is not in this database): foreign key "
        "user_schema.academic_information (program_id) → institution_schema.programs (id)",
    ]
    history = "SELECT version, name, checksum FROM user_schema.edulink_migrations"
    with platform.superuser() as conn:
        source = table_states(conn, ["user_schema"])
        source_history = conn.execute(history).fetchall()
    with psycopg.connect(pg_cluster.superuser_dsn(scratch), autocommit=True) as conn:
        restored = table_states(conn, ["user_schema"])
        restored_history = conn.execute(history).fetchall()
        indexes = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'user_schema'"
        ).fetchone()
    # The history's rows say when and by whom: the drill applied the files itself.
    del source["user_schema.edulink_migrations"], restored["user_schema.edulink_migrations"]
    assert restored == source
    assert restored_history == source_history
    assert indexes is not None and indexes[0] >= 15
    code, _, stderr = operate(
        "restore",
        "--service",
        "user",
        "--from",
        str(out),
        env={"EDULINK_DSN": pg_cluster.admin_dsn(scratch)},
    )
    assert code == 2
    assert stderr.startswith("error: the database already has schema user_schema")
