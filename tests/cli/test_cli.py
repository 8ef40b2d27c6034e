"""The `edulink-db` command line, run in-process on copies of the project."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edulink_db.cli.app import app
from tests.support.program import recorded

runner = CliRunner()
SERVICES = ("application", "auth", "institution", "internship", "notification", "user")


@pytest.fixture
def project(tmp_path: Path, project_root: Path) -> Path:
    """A copy of the project whose protected stacks have their admin secret set, as
    `pulumi config set --secret` would leave them."""
    shutil.copy(project_root / "catalogue.yaml", tmp_path)
    shutil.copytree(project_root / "migrations", tmp_path / "migrations")
    shutil.copytree(project_root / "legacy", tmp_path / "legacy")
    for stack in ("dev", "staging", "prod"):
        text = (project_root / f"Pulumi.{stack}.yaml").read_text()
        if stack != "dev":
            text += "  edulink-db:adminPassword:\n    secure: v1:ZmFrZQ==:ZW5jcnlwdGVk\n"
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_validate_accepts_the_project(project: Path) -> None:
    code, stdout, _ = run("validate", "--root", str(project))
    assert code == 0
    assert stdout.strip() == (
        f"valid: catalogue.yaml, migrations, legacy mappings {', '.join(SERVICES)}, "
        "stacks dev, prod, staging"
    )


def test_validate_checks_the_legacy_mappings(project: Path) -> None:
    auth = project / "legacy" / "auth.yaml"
    text = auth.read_text()
    auth.write_text(text.replace("last_login_at: last_login", "last_seen_at: last_login", 1))
    (project / "legacy" / "billing.yaml").write_text("version: 1\ntables: {}\n")
    line = text[: text.index("last_login_at: last_login")].count("\n") + 1
    code, _, stderr = run("validate", "--root", str(project), "--stack", "dev")
    assert code == 1
    lines = stderr.splitlines()
    assert lines[-1] == "2 problem(s) found"
    assert (
        f"legacy/auth.yaml:{line}:7: tables.users.columns.last_seen_at: unknown column "
        "auth_schema.users.last_seen_at; known: "
    ) in stderr
    assert (
        "legacy/billing.yaml: no service 'billing'; known: application, auth, institution, "
        "internship, notification, user" in lines
    )


def test_validate_lists_every_problem_and_exits_1(project: Path) -> None:
    catalogue = project / "catalogue.yaml"
    catalogue.write_text(catalogue.read_text().replace("table: users", "table: userz", 1))
    (project / "migrations" / "auth" / "0002_bad.sql").write_text(
        "grant select on auth_schema.users to public;\n"
    )
    prod = project / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text().replace("sslmode: require", "sslmode: disable"))
    code, _, stderr = run("validate", "--root", str(project), "--stack", "prod")
    assert code == 1
    lines = stderr.splitlines()
    assert lines[-1] == "4 problem(s) found"
    # the typo also leaves the user service's foreign key to auth_schema.users undeclared
    assert (
        "migrations/user/0001_baseline.sql:10: foreign key user_profiles(user_id) references auth_schema.users(id) but services.user.reads declares no such references"
        in lines
    )
    assert (
        "migrations/auth/0002_bad.sql:1: GRANT/REVOKE is not allowed in a migration; the platform manages access"
        in lines
    )
    assert any(
        line.startswith("catalogue.yaml:")
        and "services.user.reads[0].table: unknown table auth_schema.userz" in line
        for line in lines
    )
    assert (
        "Pulumi.prod.yaml:5:1: edulink-db: a protected stack needs target.sslmode require or stricter, not disable"
        in lines
    )


def test_validate_an_unknown_stack(project: Path) -> None:
    code, _, stderr = run("validate", "--root", str(project), "--stack", "qa")
    assert code == 1
    assert "Pulumi.qa.yaml: no such stack file; known stacks: dev, prod, staging" in stderr


def test_matrix_json_lists_column_scopes_and_policies(project: Path) -> None:
    code, stdout, _ = run("matrix", "--root", str(project), "--stack", "prod", "--format", "json")
    assert code == 0
    entries = json.loads(stdout)
    user_reads = [e for e in entries if e["service"] == "user" and e["table"] == "users"]
    assert {(e["privilege"], tuple(e["columns"])) for e in user_reads} >= {
        ("SELECT", ("id", "email", "is_active")),
        ("REFERENCES", ("id",)),
        ("POLICY SELECT", ()),
    }
    assert not [e for e in entries if e["privilege"] in {"INSERT", "UPDATE", "DELETE"}]
    assert not [e for e in entries if "password_hash" in e["columns"]]


def test_matrix_renders_a_grid_of_services_and_schemas(project: Path) -> None:
    code, stdout, _ = run(
        "matrix", "--root", str(project), "--stack", "prod", "--format", "markdown"
    )
    assert code == 0
    title, _blank, header, _rule, *rows = stdout.splitlines()
    assert title == "**Access matrix of stack prod: 6 services, 6 schemas**"
    assert header == "| service | " + " | ".join(f"{s}_schema" for s in SERVICES) + " |"
    user = next(r for r in rows if r.startswith("| user |"))
    assert (
        "users: policy user_service_role_read, REFERENCES(id), SELECT(id, email, is_active)" in user
    )
    code, stdout, _ = run("matrix", "--root", str(project), "--stack", "prod", "--layout", "grid")
    assert code == 0 and stdout.startswith("Access matrix of stack prod")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_matrix_against_a_revision_shows_gained_and_lost_privileges(project: Path) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=ci@example.org", "-c", "user.name=ci", "add", ".")
    _git(project, "-c", "user.email=ci@example.org", "-c", "user.name=ci", "commit", "-qm", "base")
    catalogue = project / "catalogue.yaml"
    catalogue.write_text(
        catalogue.read_text().replace("columns: [id, email, is_active]", "columns: [id, email]", 1)
    )
    code, stdout, _ = run(
        "matrix", "--root", str(project), "-s", "prod", "--against", "HEAD", "-f", "markdown"
    )
    assert code == 0
    assert stdout.startswith("**Access matrix of stack prod against `HEAD`: 1 added, 1 removed.**")
    assert "| + added | user | auth_schema.users | SELECT | id, email |  |" in stdout
    assert "| - removed | user | auth_schema.users | SELECT | id, email, is_active |  |" in stdout
    code, stdout, _ = run(
        "matrix", "--root", str(project), "-s", "prod", "--against", "HEAD", "--format", "json"
    )
    assert json.loads(stdout)["removed"][0]["columns"] == ["id", "email", "is_active"]
    assert json.loads(stdout)["stack"] == "prod"
    code, stdout, _ = run("matrix", "--root", str(project), "-s", "prod", "--against", "HEAD")
    assert code == 0
    assert stdout.splitlines() == [  # the table format is text for a terminal, not Markdown
        "Access matrix of stack prod against HEAD: 1 added, 1 removed",
        "+ user: SELECT(id, email) on auth_schema.users",
        "- user: SELECT(id, email, is_active) on auth_schema.users",
    ]
    assert run("matrix", "--root", str(project), "-s", "prod", "--against", "no-such-ref")[0] == 2


def test_django_settings_match_the_stack_output_without_the_password(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stdout, _ = run(
        "django-settings", "--root", str(project), "--service", "user", "--stack", "prod"
    )
    assert code == 0
    assert '"PASSWORD": os.environ["USER_DB_PASSWORD"]' in stdout
    monkeypatch.setenv("USER_DB_PASSWORD", "from-env")
    namespace: dict[str, object] = {}
    exec(stdout, namespace)
    entry = namespace["DATABASES"]["default"]  # type: ignore[index]
    output = recorded("prod").outputs["user"]["django_database"].value
    assert entry == {**output, "PASSWORD": "from-env"}


def test_django_settings_for_an_unknown_service_exits_2(project: Path) -> None:
    code, _, stderr = run(
        "django-settings", "--root", str(project), "--service", "billing", "--stack", "prod"
    )
    assert code == 2
    assert (
        "unknown service 'billing'; known: application, auth, institution, internship, notification, user"
        in stderr
    )


def test_the_console_script_is_installed(project_root: Path) -> None:
    result = subprocess.run(
        [str(project_root / ".venv" / "bin" / "edulink-db"), "--help"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "validate" in result.stdout and "audit" in result.stdout
