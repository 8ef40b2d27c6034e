"""`edulink-db audit` against the replayed prod stack on a real server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edulink_db.cli.app import app
from tests.support.deploy import Deployment

runner = CliRunner()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project_root = Path(__file__).resolve().parents[2]
    folder = tmp_path_factory.mktemp("project")
    for name in ("catalogue.yaml", "Pulumi.prod.yaml"):
        shutil.copy(project_root / name, folder / name)
    shutil.copytree(project_root / "migrations", folder / "migrations")
    return folder


def audit(root: Path, dsn: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["audit", "--root", str(root), "--stack", "prod", "--dsn", dsn, *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_database_exits_0(prod: Deployment, root: Path) -> None:
    code, stdout, _ = audit(root, prod.cluster.admin_dsn(prod.database), "--format", "json")
    assert code == 0, stdout
    report = json.loads(stdout)
    assert report["findings"] == [] and report["not_evaluated"] == []


def test_findings_exit_1_and_name_the_rule(prod: Deployment, root: Path) -> None:
    with prod.superuser() as conn:
        conn.execute("ALTER TABLE auth_schema.users NO FORCE ROW LEVEL SECURITY")
    try:
        code, stdout, _ = audit(root, prod.cluster.admin_dsn(prod.database), "--format", "sarif")
        assert code == 1
        results = json.loads(stdout)["runs"][0]["results"]
        assert [r["ruleId"] for r in results] == ["DR10"]
        code, _, _ = audit(root, prod.cluster.admin_dsn(prod.database), "--fail-on", "error")
        assert code == 1  # DR10 is an error
    finally:
        with prod.superuser() as conn:
            conn.execute("ALTER TABLE auth_schema.users FORCE ROW LEVEL SECURITY")


def test_fail_on_sets_the_threshold(prod: Deployment, root: Path) -> None:
    with prod.superuser() as conn:  # a warning-level drift: a changed statement_timeout
        conn.execute("ALTER ROLE auth_service SET statement_timeout = 1")
    try:
        assert audit(root, prod.cluster.admin_dsn(prod.database), "--fail-on", "warning")[0] == 1
        code, stdout, _ = audit(
            root,
            prod.cluster.admin_dsn(prod.database),
            "--fail-on",
            "error",
            "--format",
            "markdown",
        )
        assert code == 0 and "DR04" in stdout
    finally:
        with prod.superuser() as conn:
            conn.execute("ALTER ROLE auth_service SET statement_timeout = 5000")


def test_an_unreachable_database_exits_2_without_the_password(root: Path) -> None:
    code, stdout, stderr = audit(
        root, "host=127.0.0.1 port=1 user=postgres password=do-not-print-me dbname=x"
    )
    assert code == 2
    assert "cannot audit the database" in stderr
    assert "do-not-print-me" not in stdout + stderr
