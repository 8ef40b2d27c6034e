"""`edulink-db django-settings` and `django-models`, run in-process on copies of the project."""

from __future__ import annotations

from pathlib import Path

from tests.cli import test_cli

project = test_cli.project  # the copied-project fixture, by the name the tests ask for
run = test_cli.run

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "django"


def test_settings_are_printed_as_the_golden_module(project: Path) -> None:
    code, stdout, _ = run(
        "django-settings", "--root", str(project), "--service", "user", "--stack", "prod"
    )
    assert code == 0
    assert stdout == (GOLDEN / "settings_user_prod_transaction.py").read_text()


def test_settings_are_written_to_a_file(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "database_settings.py"
    code, stdout, stderr = run(
        "django-settings",
        "--root",
        str(project),
        "--service",
        "user",
        "--stack",
        "prod",
        "--pooler",
        "session",
        "--output",
        str(target),
    )
    assert (code, stdout) == (0, "")
    assert stderr.strip() == f"wrote {target}"
    assert target.read_text() == (GOLDEN / "settings_user_prod_session.py").read_text()


def test_a_pooler_on_a_stack_without_one_is_refused(project: Path) -> None:
    code, stdout, stderr = run(
        "django-settings",
        "--root",
        str(project),
        "--service",
        "user",
        "--stack",
        "dev",
        "--pooler",
        "session",
    )
    assert (code, stdout) == (2, "")
    assert stderr.strip() == (
        "error: the dev stack has no pooler (edulink-db:pooler is not set in Pulumi.dev.yaml), "
        "so there is no session pooler to connect through; its services connect directly: "
        "use --pooler direct"
    )


def test_models_check_passes_until_the_catalogue_changes(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "edulink_reads" / "models.py"
    args = ("django-models", "--root", str(project), "--service", "user", "--output", str(target))
    assert run(*args, "--check")[0] == 1  # nothing written yet
    assert run(*args)[0] == 0
    assert target.read_text() == (GOLDEN / "models_user.py").read_text()
    assert run(*args, "--check")[0] == 0
    catalogue = project / "catalogue.yaml"
    catalogue.write_text(
        catalogue.read_text().replace("columns: [id, email, is_active]", "columns: [id, email]", 1)
    )
    code, _, stderr = run(*args, "--check")
    assert code == 1
    assert stderr.strip() == (
        f"{target} is out of date: run edulink-db django-models --service user --output {target}"
    )


def test_models_for_an_unknown_service_exit_2(project: Path) -> None:
    code, _, stderr = run("django-models", "--root", str(project), "--service", "billing")
    assert code == 2
    assert stderr.strip() == (
        "error: unknown service 'billing'; known: application, auth, institution, internship, "
        "notification, user"
    )
