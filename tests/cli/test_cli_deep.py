"""`validate --deep`: what only PostgreSQL can tell, asked of a throwaway database and
rolled back; the static checks say which expressions need it."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from edulink_db.cli.app import app
from tests.support.cluster import Cluster

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, project_root: Path) -> Path:
    shutil.copy(project_root / "catalogue.yaml", tmp_path)
    shutil.copytree(project_root / "migrations", tmp_path / "migrations")
    shutil.copy(project_root / "Pulumi.dev.yaml", tmp_path)
    return tmp_path


def deep(project: Path, dsn: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", "--root", str(project), "--deep", "--dsn", dsn])
    return result.exit_code, result.stdout, result.stderr


def _schemas(pg_cluster: Cluster, database: str) -> list[str]:
    with psycopg.connect(pg_cluster.superuser_dsn(database)) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE '%\\_schema' AND nspname <> 'information_schema'"
        ).fetchall()
    return [str(row[0]) for row in rows]


def test_the_project_passes_and_nothing_is_left_behind(
    project: Path, pg_cluster: Cluster, database: str
) -> None:
    code, stdout, stderr = deep(project, pg_cluster.admin_dsn(database))
    assert (code, stderr) == (0, "")
    assert stdout.strip().endswith("stacks dev; checked by PostgreSQL (--deep)")
    assert _schemas(pg_cluster, database) == []


def test_what_static_validation_left_open_is_refused_by_the_server(
    project: Path, pg_cluster: Cluster, database: str
) -> None:
    catalogue = project / "catalogue.yaml"
    text = catalogue.read_text()
    # an unknown function (only a note without a server), and an operator uuid = integer
    text = text.replace("row_filter: deleted_at is null", "row_filter: is_visible(id)", 1)
    text = text.replace("row_filter: deleted_at is null", "row_filter: user_id = 1", 1)
    catalogue.write_text(text)
    code, _, stderr = deep(project, pg_cluster.admin_dsn(database))
    assert code == 1
    assert stderr.splitlines() == [
        "catalogue.yaml:109:9: services.notification.reads[1].row_filter: expression refused "
        "by PostgreSQL: function is_visible(uuid) does not exist",
        "catalogue.yaml:122:9: services.application.reads[0].row_filter: expression refused "
        "by PostgreSQL: operator does not exist: uuid = integer",
        "2 problem(s) found",
    ]
    assert _schemas(pg_cluster, database) == []


def test_a_migration_the_server_refuses_is_reported_once(
    project: Path, pg_cluster: Cluster, database: str
) -> None:
    (project / "migrations/auth/0002_bad.sql").write_text(
        "-- a type PostgreSQL does not have\nalter table auth_schema.users add column x nosuchtype;\n"
    )
    code, _, stderr = deep(project, pg_cluster.admin_dsn(database))
    assert code == 1
    assert stderr.splitlines() == [
        'migrations/auth/0002_bad.sql:2: PostgreSQL refuses it: type "nosuchtype" does not exist',
        "1 problem(s) found",
    ]


def test_a_database_that_holds_the_schemas_is_not_used(
    project: Path, pg_cluster: Cluster, database: str
) -> None:
    with psycopg.connect(pg_cluster.superuser_dsn(database)) as conn:
        conn.execute("CREATE SCHEMA auth_schema")
    code, _, stderr = deep(project, pg_cluster.admin_dsn(database))
    assert code == 2
    assert stderr == (
        "error: the --deep database already has auth_schema: point it at a throwaway database "
        "without the service schemas; nothing was changed\n"
    )


def test_an_unreachable_server_exits_2_without_the_password(project: Path) -> None:
    code, _, stderr = deep(project, "host=127.0.0.1 port=1 user=x password=do-not-print dbname=x")
    assert code == 2
    assert stderr.startswith("error: --deep cannot reach its server: ")
    assert "do-not-print" not in stderr
