"""`edulink-db validate | matrix | audit`, and the commands other modules register
(`django-settings`, `django-models`, `migrate-data`).

The shell only: it parses options, calls the core and prints. Exit codes, the same for
every command, are listed in `edulink_db.cli.console`: 0 success, 1 findings, 2 could not
run.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from edulink_db.audit.render import ToolInfo, render
from edulink_db.audit.run import exceeds, run_audit
from edulink_db.catalogue.deep import check_on_server
from edulink_db.catalogue.expressions import unsettled_expressions
from edulink_db.catalogue.load import LoadedCatalogue, load_catalogue
from edulink_db.cli import django, migrate_data, operations
from edulink_db.cli.console import (
    EXIT_CANNOT_RUN,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    plain,
    stderr,
    stdout,
    user_errors,
)
from edulink_db.cli.options import AllowNotEvaluatedOption, FailOnOption, RootOption, dsn_option
from edulink_db.datamove.mapping import check_mappings
from edulink_db.environment.load import missing_secrets
from edulink_db.errors import Issue, UserError, ValidationFailed
from edulink_db.finding import Level
from edulink_db.matrix.entries import build_entries, diff_entries
from edulink_db.matrix.render import (
    grid_fits,
    render_blocks,
    render_diff_json,
    render_diff_markdown,
    render_diff_text,
    render_json,
    render_markdown,
    render_table,
)
from edulink_db.project import Project, load_project
from edulink_db.revision import checkout_inputs
from edulink_db.stackfile import choose_stack, known_stacks, load_stack_file

COMMANDS = (
    "validate",
    "matrix",
    "audit",
    "django-settings",
    "django-models",
    "migrate-data",
    "inspect",
    "backup",
    "restore",
    "rollback",
)

app = typer.Typer(
    name="edulink-db",
    help=(
        "The Edulink database platform as code. validate checks every input; matrix shows "
        "who may do what; audit compares a live database with the plan; django-settings "
        "prints a service's DATABASES entry; django-models writes its read models; "
        "migrate-data moves a legacy database into its schema; inspect, backup, restore and "
        "rollback operate one service. Exit codes: 0 success, "
        "1 findings, 2 could not run."
    ),
    no_args_is_help=True,
    add_completion=False,
)

StackChoice = Annotated[
    str | None,
    typer.Option(
        "--stack",
        "-s",
        help="The stack whose plan to use; required when there are several stack files.",
        show_default=False,
    ),
]


# Finding problems in the inputs is validate's job (exit 1); they stop the other commands
# from running (exit 2).
reports_problems = user_errors(EXIT_FINDINGS)
needs_valid_inputs = user_errors(EXIT_CANNOT_RUN, " in the inputs; the command did not run")


def _project(root: Path, stack: str) -> Project:
    found = load_stack_file(root, stack)
    return load_project(
        root, stack, found.config, found.secret, require_secrets=False, positions=found.positions
    )


# -- validate -------------------------------------------------------------------------------


@app.command()
@reports_problems
def validate(
    root: RootOption = Path("."),
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack", "-s", help="Only this stack; default: every stack file.", show_default=False
        ),
    ] = None,
    require_secrets: Annotated[
        bool,
        typer.Option(
            "--require-secrets",
            help="A stack's missing admin password is an error, not a warning (for CI).",
        ),
    ] = False,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also run the migrations and create every policy expression on a throwaway "
            "PostgreSQL (--dsn), in a transaction that is rolled back.",
        ),
    ] = False,
    dsn: Annotated[
        str | None,
        dsn_option(
            "--dsn", "EDULINK_DEEP_DSN", "The throwaway database for --deep (or EDULINK_DEEP_DSN)."
        ),
    ] = None,
) -> None:
    """Validate catalogue.yaml, the migrations, the legacy mappings and the stack files;
    list every problem."""
    if deep and not dsn:
        raise UserError("--deep needs --dsn (or EDULINK_DEEP_DSN): a throwaway PostgreSQL")
    stacks = [stack] if stack else known_stacks(root)
    catalogue, mapped, issues = _catalogue_issues(root)
    warnings: list[Issue] = []
    if not stacks:
        issues.append(Issue("Pulumi.<stack>.yaml", "", f"no stack file in {root}"))
    for name in stacks:
        found, missing = _stack_issues(root, name)
        issues += [i for i in found if i not in issues]
        warnings += missing
    if require_secrets:
        issues, warnings = issues + warnings, []
    if catalogue is not None and not issues and deep and dsn:
        assert catalogue.source is not None
        issues += check_on_server(dsn, catalogue, catalogue.source)
    _print_warnings(warnings, issues)
    if issues:
        raise ValidationFailed(issues)
    if catalogue is not None and not deep:
        _print_unsettled(catalogue)
    mappings = f"legacy mappings {', '.join(mapped)}, " if mapped else ""
    checked = "; checked by PostgreSQL (--deep)" if deep else ""
    warned = f" ({len(warnings)} warning(s))" if warnings else ""
    plain(
        stdout(),
        f"valid: catalogue.yaml, migrations, {mappings}stacks {', '.join(stacks)}{checked}{warned}",
    )


def _catalogue_issues(root: Path) -> tuple[LoadedCatalogue | None, list[str], list[Issue]]:
    try:
        catalogue = load_catalogue(root)
    except ValidationFailed as failed:
        return None, [], list(failed.issues)
    mapped, issues = check_mappings(root, catalogue)
    return catalogue, mapped, list(issues)


def _stack_issues(root: Path, stack: str) -> tuple[list[Issue], list[Issue]]:
    """The stack's problems, and its missing secrets apart: a fresh clone has none yet."""
    try:
        found = load_stack_file(root, stack)
    except ValidationFailed as failed:
        return list(failed.issues), []
    missing = missing_secrets(stack, found.config, found.positions)
    try:
        _project(root, stack)
    except ValidationFailed as failed:
        return list(failed.issues), missing
    return [], missing


def _print_warnings(warnings: list[Issue], issues: list[Issue]) -> None:
    err = stderr()
    for warning in warnings:
        otherwise = not any(issue.file == warning.file for issue in issues)
        rest = "; the rest of the file is valid" if otherwise else ""
        plain(
            err,
            f"warning: {warning}. Expected until the secret is set{rest} "
            "(--require-secrets makes this an error)",
        )


def _print_unsettled(catalogue: LoadedCatalogue) -> None:
    """Say which expressions only a server can fully check, and how to have it check them."""
    source = catalogue.source
    assert source is not None
    for written, unsettled in unsettled_expressions(catalogue.services, catalogue.shapes):
        message = (
            f"not checked without a server: {'; '.join(unsettled)}; "
            "`validate --deep --dsn …` has PostgreSQL check it"
        )
        plain(stderr(), f"note: {source.issue(written.path, message)}")


# -- matrix ---------------------------------------------------------------------------------


class MatrixFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


class Layout(StrEnum):
    auto = "auto"
    grid = "grid"
    blocks = "blocks"


@app.command()
@needs_valid_inputs
def matrix(
    root: RootOption = Path("."),
    stack: StackChoice = None,
    format: Annotated[MatrixFormat, typer.Option("--format", "-f")] = MatrixFormat.table,
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            help="table format: one grid (services by schemas), one block per service, or "
            "the grid only when the terminal is wide enough to show every name whole.",
        ),
    ] = Layout.auto,
    against: Annotated[
        str | None,
        typer.Option("--against", help="Show what changes against this git revision."),
    ] = None,
) -> None:
    """The access matrix from the plan, without a database; with --against, its diff."""
    stack = choose_stack(root, stack)
    entries = build_entries(_project(root, stack).plan)
    out = stdout()
    if against is not None:
        with checkout_inputs(root, against) as old_root:
            before = build_entries(_project(old_root, stack).plan)
        diff = diff_entries(before, entries)
        renderers = {
            MatrixFormat.json: lambda: render_diff_json(diff, against, stack),
            MatrixFormat.markdown: lambda: render_diff_markdown(diff, against, stack),
            MatrixFormat.table: lambda: render_diff_text(diff, against, stack, out.width),
        }
        plain(out, renderers[format](), end="")
        return
    if format is MatrixFormat.json:
        plain(out, render_json(entries), end="")
    elif format is MatrixFormat.markdown:
        plain(out, render_markdown(entries, stack), end="")
    elif layout is Layout.grid or (layout is Layout.auto and grid_fits(entries, stack, out.width)):
        out.print(render_table(entries, stack))
    else:
        plain(out, render_blocks(entries, stack, out.width), end="")


# -- audit ----------------------------------------------------------------------------------


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


@app.command()
@needs_valid_inputs
def audit(
    dsn: Annotated[
        str,
        dsn_option("--dsn", "EDULINK_AUDIT_DSN", "The database to audit (or EDULINK_AUDIT_DSN)."),
    ],
    root: RootOption = Path("."),
    stack: StackChoice = None,
    format: Annotated[AuditFormat, typer.Option("--format", "-f")] = AuditFormat.table,
    fail_on: FailOnOption = Level.warning,
    allow_not_evaluated: AllowNotEvaluatedOption = False,
) -> None:
    """Audit a live database against a stack's plan, read-only; exit 1 on findings, 2 if it
    cannot run."""
    stack = choose_stack(root, stack)
    project = _project(root, stack)
    report = run_audit(dsn, project.plan, project.catalogue.shapes, stack)
    plain(stdout(), render(report, format.value, _tool_info()), end="")
    if exceeds(report, fail_on, fail_on_unknown=not allow_not_evaluated):
        raise typer.Exit(EXIT_FINDINGS)


def _tool_info() -> ToolInfo:
    """Where this project is documented: the package's own URL when it declares one, else
    the repository of the CI run (GitHub Actions); nothing when neither is known."""
    try:
        urls = metadata.metadata("edulink-db").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    if urls:
        return ToolInfo(urls[0].split(",", 1)[-1].strip())
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return ToolInfo(f"{server}/{repository}" if server and repository else "")


migrate_data.register(app)
django.register(app, needs_valid_inputs)
operations.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    main()
