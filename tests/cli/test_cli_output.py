"""What people read: help, colours, exit codes, stacks named, and the matrix at 80 columns.
Golden files: tests/golden/README.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from edulink_db.cli import migrate_data
from edulink_db.cli.app import COMMANDS, app
from edulink_db.errors import Issue
from tests.golden.golden import assert_golden

runner = CliRunner()
SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def project(tmp_path: Path, project_root: Path) -> Path:
    """A copy of the project as a fresh clone has it: no admin secret in staging or prod."""
    shutil.copy(project_root / "catalogue.yaml", tmp_path)
    shutil.copytree(project_root / "migrations", tmp_path / "migrations")
    shutil.copytree(project_root / "legacy", tmp_path / "legacy")
    for stack in ("dev", "staging", "prod"):
        shutil.copy(project_root / f"Pulumi.{stack}.yaml", tmp_path)
    return tmp_path


def run(*args: str, columns: int = 80, **env: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": str(columns), **env})
    return result.exit_code, result.stdout, result.stderr


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# -- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_no_type_placeholders_and_flags_take_no_value(command: str) -> None:
    code, stdout, _ = run(*([command] if command else []), "--help", columns=120)
    assert code == 0
    assert not re.search(r"<(bool|str|path|int)>", stdout), stdout
    flags = re.compile(
        r"│\s+(?:\*\s+)?--(?:help|deep|require-secrets|dry-run|resume|progress)\S*\s+(\S+)"
    )
    for line in stdout.splitlines():
        found = flags.match(line)
        if found:  # what follows a flag is its help text, never a value's type
            assert found.group(1) not in ("TEXT", "BOOLEAN"), line
            assert not found.group(1).startswith("<"), line


def test_top_level_help_names_every_command() -> None:
    code, stdout, _ = run("--help", columns=120)
    assert code == 0
    description = stdout[: stdout.index("Options")]
    for command in COMMANDS:
        assert re.search(rf"\b{command}\b", description), command
    assert {c.name or c.callback.__name__ for c in app.registered_commands} >= {  # type: ignore[union-attr]
        "validate",
        "matrix",
        "audit",
        "django-settings",
        "migrate-data",
    }


# -- colours ----------------------------------------------------------------------------------


def test_the_problem_count_is_one_colour(project: Path) -> None:
    _edit(project / "catalogue.yaml", "row_filter: deleted_at is", "row_filter: deleted_att is")
    code, _, stderr = run("validate", "--root", str(project), "-s", "dev", FORCE_COLOR="1")
    assert code == 1
    last = stderr.splitlines()[-1]
    assert SGR.sub("", last) == "1 problem(s) found"
    assert SGR.findall(last) == ["\x1b[1;31m", "\x1b[0m"]  # one span: no highlighted number
    issue = stderr.splitlines()[0]
    assert SGR.findall(issue) == []  # issue lines are printed as they are


# -- validate ---------------------------------------------------------------------------------


def test_a_fresh_clone_validates_with_warnings_for_the_unset_secrets(project: Path) -> None:
    code, stdout, stderr = run("validate", "--root", str(project))
    assert code == 0
    assert stdout.splitlines()[-1].endswith("stacks dev, prod, staging (2 warning(s))")
    for stack in ("prod", "staging"):
        lines = (project / f"Pulumi.{stack}.yaml").read_text().splitlines()
        config = lines.index("config:") + 1
        assert (
            f"warning: Pulumi.{stack}.yaml:{config}:1: edulink-db:adminPassword: missing secret: run "
            f"`pulumi config set --secret edulink-db:adminPassword -s {stack}`. Expected until "
            "the secret is set; the rest of the file is valid (--require-secrets makes this an "
            "error)"
        ) in stderr.splitlines()
    code, _, stderr = run("validate", "--root", str(project), "--require-secrets")
    assert code == 1
    assert stderr.splitlines()[-1] == "2 problem(s) found"


def test_a_warning_does_not_call_a_broken_file_valid(project: Path) -> None:
    _edit(project / "Pulumi.prod.yaml", "sslmode: require", "sslmode: disable")
    code, _, stderr = run("validate", "--root", str(project), "-s", "prod")
    assert code == 1
    warning = next(line for line in stderr.splitlines() if line.startswith("warning:"))
    assert "the rest of the file is valid" not in warning


def test_a_stack_file_problem_is_located(project: Path) -> None:
    _edit(project / "Pulumi.staging.yaml", "    port: 5432\n", "    port: 99999\n")
    code, _, stderr = run("validate", "--root", str(project), "-s", "staging")
    assert code == 1
    assert (
        "Pulumi.staging.yaml:6:5: edulink-db:target.port: Input should be less than or equal "
        "to 65535"
    ) in stderr.splitlines()


def test_validate_refuses_an_expression_that_would_fail_at_deploy(project: Path) -> None:
    """The issue's examples: each passed `validate` and failed inside the RLS resource."""
    catalogue = project / "catalogue.yaml"
    _edit(catalogue, "row_filter: deleted_at is null", "row_filter: deleted_att is null")
    _edit(catalogue, "row_filter: deleted_at is null", "row_filter: first_name")
    code, _, stderr = run("validate", "--root", str(project), "-s", "dev")
    assert code == 1
    assert stderr.splitlines() == [
        "catalogue.yaml:109:21: services.notification.reads[1].row_filter: expression names "
        "unknown column deleted_att of user_schema.user_profiles; known: id, user_id, "
        "first_name, last_name, display_name, role, institution_id, company_name, job_title, "
        "bio, avatar_url, date_of_birth, deleted_at, created_at, updated_at",
        "catalogue.yaml:122:21: services.application.reads[0].row_filter: expression must be "
        "boolean (a row is admitted when it is true), but it is text",
        "2 problem(s) found",
    ]


def test_validate_says_what_only_a_server_can_check(project: Path) -> None:
    catalogue = project / "catalogue.yaml"
    _edit(catalogue, "row_filter: deleted_at is null", "row_filter: is_visible(id)")
    code, stdout, stderr = run("validate", "--root", str(project), "-s", "dev")
    assert code == 0 and stdout.startswith("valid: ")
    assert stderr.splitlines() == [
        "note: catalogue.yaml:109:9: services.notification.reads[1].row_filter: not checked "
        "without a server: the type of `is_visible(id)`; `validate --deep --dsn …` has "
        "PostgreSQL check it",
    ]
    code, _, stderr = run("validate", "--root", str(project), "-s", "dev", "--deep")
    assert (code, stderr) == (
        2,
        "error: --deep needs --dsn (or EDULINK_DEEP_DSN): a throwaway PostgreSQL\n",
    )


# -- audit: exit 2 when it cannot run ---------------------------------------------------------


def test_audit_that_cannot_run_exits_2_not_1(project: Path) -> None:
    dsn = "host=127.0.0.1 port=1 dbname=x user=x"
    code, _, stderr = run("audit", "--root", str(project), "--dsn", dsn)
    assert (code, stderr) == (
        2,
        "error: 3 stacks (dev, prod, staging): say which with --stack\n",
    )
    code, _, stderr = run("audit", "--root", str(project), "--dsn", dsn, "--stack", "qa")
    assert code == 2
    assert stderr.splitlines() == [
        "Pulumi.qa.yaml: no such stack file; known stacks: dev, prod, staging",
        "1 problem(s) found in the inputs; the command did not run",
    ]
    _edit(project / "catalogue.yaml", "table: users", "table: userz")
    code, _, stderr = run("audit", "--root", str(project), "--dsn", dsn, "--stack", "dev")
    assert code == 2
    assert stderr.splitlines()[-1].endswith(
        "problem(s) found in the inputs; the command did not run"
    )


def test_with_one_stack_file_audit_and_matrix_need_no_stack(project: Path) -> None:
    for stack in ("dev", "staging"):
        (project / f"Pulumi.{stack}.yaml").unlink()
    code, stdout, _ = run("matrix", "--root", str(project), "-f", "markdown")
    assert code == 0 and stdout.startswith("**Access matrix of stack prod:")


# -- matrix -----------------------------------------------------------------------------------


def test_matrix_needs_a_stack_when_there_are_several(project: Path) -> None:
    code, stdout, stderr = run("matrix", "--root", str(project))
    assert (code, stdout) == (2, "")
    assert stderr == "error: 3 stacks (dev, prod, staging): say which with --stack\n"


def test_golden_matrix_at_80_columns(project: Path) -> None:
    code, stdout, _ = run("matrix", "--root", str(project), "--stack", "prod", columns=80)
    assert code == 0
    assert all(len(line) <= 80 for line in stdout.splitlines())
    assert "…" not in stdout  # no name cut
    assert_golden("matrix_prod_80.txt", stdout)


def test_matrix_keeps_the_grid_for_wide_terminals(project: Path) -> None:
    code, stdout, _ = run("matrix", "--root", str(project), "--stack", "prod", columns=240)
    assert code == 0
    assert "Access matrix of stack prod" in stdout.splitlines()[0]
    assert "┃ service      ┃ application_schema" in stdout  # the grid
    assert "│ application  │ OWNER" in stdout
    assert "…" not in stdout  # every name whole
    code, narrow, _ = run(
        "matrix", "--root", str(project), "--stack", "prod", "--layout", "grid", columns=80
    )
    assert "…" in narrow  # what --layout auto avoids


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.email=ci@example.org", "-c", "user.name=ci", *args],
        check=True,
        capture_output=True,
    )


def test_golden_matrix_diff_at_80_columns(project: Path) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "base")
    catalogue = project / "catalogue.yaml"
    _edit(catalogue, "columns: [id, email, is_active]", "columns: [id, email]")
    _edit(catalogue, "row_filter: deleted_at is null", "row_filter: deleted_at is null and true")
    code, stdout, _ = run("matrix", "--root", str(project), "-s", "prod", "--against", "HEAD")
    assert code == 0
    assert not stdout.startswith("**") and "|---" not in stdout  # text, not Markdown
    assert all(len(line) <= 80 for line in stdout.splitlines())
    assert_golden("matrix_diff_80.txt", stdout)


def test_golden_validate_listing_of_a_bad_catalogue(project: Path) -> None:
    """Mistakes of meaning in a well-formed catalogue, all at once, as `validate` lists them:
    located, sorted, one per line, then the count (tests/golden/validate_bad_catalogue.txt).
    Shape mistakes stop before these checks; test_catalogue_rules.py lists those."""
    catalogue = project / "catalogue.yaml"
    _edit(catalogue, "secret_columns: [password_hash]", "secret_columns: [password_hashh]")
    _edit(catalogue, "table: institutions", "table: institutionz")
    _edit(catalogue, "columns: [id, user_id, first_name, last_name]", "columns: [id, nickname]")
    _edit(catalogue, "row_filter: deleted_at is null", "row_filter: deleted_att is null")
    code, stdout, stderr = run("validate", "--root", str(project), "-s", "dev")
    assert (code, stdout) == (1, "")
    assert stderr.splitlines()[-1].endswith("problem(s) found")
    assert_golden("validate_bad_catalogue.txt", stderr)


# -- migrate-data ------------------------------------------------------------------------------


def test_a_failed_dry_run_prints_the_problems_not_the_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pointed at the wrong legacy database, every table fails the pre-flight: the 60-line
    plan in front of the errors buried them."""
    issues = (
        Issue("legacy/auth.yaml", "tables.users.from", "the legacy database has no table", 22, 3),
    )
    monkeypatch.setattr(
        migrate_data, "migrate_service", lambda request, sink: SimpleNamespace(issues=issues)
    )
    monkeypatch.setattr(migrate_data, "render_plan", lambda report: "plan line\n" * 60)
    code, stdout, stderr = run(
        "migrate-data", "--service", "auth", "--source", "x", "--target", "y", "--dry-run"
    )
    assert code == 1
    assert "plan line" not in stdout + stderr
    assert stderr.splitlines() == [
        "legacy/auth.yaml:22:3: tables.users.from: the legacy database has no table",
        "1 problem(s) found by the pre-flight; dry run, nothing was written",
    ]
