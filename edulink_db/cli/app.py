"""`edulink-db validate | matrix | audit | django-settings`.

Exit codes: 0 success / clean, 1 problems found (invalid input, audit findings at or above
--fail-on), 2 the command could not run (unreachable database, bad arguments, git failure).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from edulink_db.audit.render import render
from edulink_db.audit.run import exceeds, run_audit
from edulink_db.catalogue.load import load_catalogue
from edulink_db.cli import migrate_data, operations
from edulink_db.datamove.mapping import check_mappings
from edulink_db.endpoints import django_database, endpoints
from edulink_db.errors import Issue, UserError, ValidationFailed
from edulink_db.finding import Level
from edulink_db.matrix.entries import build_entries, diff_entries
from edulink_db.matrix.render import (
    render_diff_json,
    render_diff_markdown,
    render_json,
    render_markdown,
    render_table,
)
from edulink_db.project import Project, load_project
from edulink_db.revision import checkout_inputs
from edulink_db.stackfile import known_stacks, read_stack_config

app = typer.Typer(
    name="edulink-db",
    help="The Edulink database platform: validate, show the access matrix, audit a database.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

RootOption = Annotated[
    Path,
    typer.Option("--root", help="The project folder (catalogue.yaml, migrations/, stack files)."),
]
StackOption = Annotated[str, typer.Option("--stack", "-s", help="The stack whose settings to use.")]


def user_errors(command: F) -> F:
    """Turn input problems into a readable list and exit 1; other user errors exit 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ValidationFailed as failed:
            for issue in failed.issues:
                err.print(str(issue), markup=False, highlight=False)
            err.print(f"{len(failed.issues)} problem(s) found", style="bold red")
            raise typer.Exit(1) from None
        except UserError as error:
            err.print(f"error: {error}", markup=False, highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _project(root: Path, stack: str, require_secrets: bool = False) -> Project:
    config, secret = read_stack_config(root, stack)
    return load_project(root, stack, config, secret, require_secrets=require_secrets)


@app.command()
@user_errors
def validate(
    root: RootOption = Path("."),
    stack: Annotated[
        str | None,
        typer.Option("--stack", "-s", help="Only this stack; default: every stack file."),
    ] = None,
) -> None:
    """Validate catalogue.yaml, the migrations, the legacy mappings and the stack files;
    list every problem."""
    stacks = [stack] if stack else known_stacks(root)
    issues: list[Issue] = []
    mapped: list[str] = []
    try:
        mapped, issues = check_mappings(root, load_catalogue(root))
    except ValidationFailed as failed:
        issues += failed.issues
    if not stacks:
        issues.append(Issue("Pulumi.<stack>.yaml", "", f"no stack file in {root}"))
    for name in stacks:
        try:
            _project(root, name, require_secrets=True)
        except ValidationFailed as failed:
            issues += [i for i in failed.issues if i not in issues]
    if issues:
        raise ValidationFailed(issues)
    mappings = f"legacy mappings {', '.join(mapped)}, " if mapped else ""
    out.print(f"valid: catalogue.yaml, migrations, {mappings}stacks {', '.join(stacks)}")


class MatrixFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


@app.command()
@user_errors
def matrix(
    root: RootOption = Path("."),
    stack: StackOption = "prod",
    format: Annotated[MatrixFormat, typer.Option("--format", "-f")] = MatrixFormat.table,
    against: Annotated[
        str | None, typer.Option("--against", help="Show what changes against this git revision.")
    ] = None,
) -> None:
    """The access matrix from the plan, without a database; with --against, its diff."""
    entries = build_entries(_project(root, stack).plan)
    if against is not None:
        with checkout_inputs(root, against) as old_root:
            before = build_entries(_project(old_root, stack).plan)
        diff = diff_entries(before, entries)
        text = (
            render_diff_json(diff, against)
            if format is MatrixFormat.json
            else render_diff_markdown(diff, against)
        )
        out.print(text, markup=False, highlight=False, end="")
        return
    if format is MatrixFormat.table:
        out.print(render_table(entries))
    elif format is MatrixFormat.markdown:
        out.print(render_markdown(entries), markup=False, highlight=False, end="")
    else:
        out.print(render_json(entries), markup=False, highlight=False, end="")


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


@app.command()
@user_errors
def audit(
    dsn: Annotated[
        str,
        typer.Option(
            "--dsn",
            envvar="EDULINK_AUDIT_DSN",
            help="The database to audit (or EDULINK_AUDIT_DSN).",
            show_default=False,
        ),
    ],
    root: RootOption = Path("."),
    stack: StackOption = "prod",
    format: Annotated[AuditFormat, typer.Option("--format", "-f")] = AuditFormat.table,
    fail_on: Annotated[
        Level, typer.Option("--fail-on", help="Exit 1 at or above this level.")
    ] = Level.warning,
    allow_not_evaluated: Annotated[
        bool,
        typer.Option(
            "--allow-not-evaluated", help="Do not fail on checks that could not be evaluated."
        ),
    ] = False,
) -> None:
    """Audit a live database against the plan, read-only; exit 1 on findings, 2 if it cannot run."""
    project = _project(root, stack)
    report = run_audit(dsn, project.plan, project.catalogue.shapes)
    out.print(render(report, format.value), markup=False, highlight=False, end="")
    if exceeds(report, fail_on, fail_on_unknown=not allow_not_evaluated):
        raise typer.Exit(1)


class Pooler(StrEnum):
    transaction = "transaction"
    session = "session"
    direct = "direct"


@app.command("django-settings")
@user_errors
def django_settings(
    service: Annotated[str, typer.Option("--service", help="The service whose entry to print.")],
    stack: StackOption,
    root: RootOption = Path("."),
    pooler: Annotated[Pooler, typer.Option("--pooler")] = Pooler.transaction,
) -> None:
    """Print the Django DATABASES entry of a service; the password comes from the environment."""
    project = _project(root, stack)
    plans = {s.name: s for s in project.plan.services}
    if service not in plans:
        raise UserError(f"unknown service {service!r}; known: {', '.join(sorted(plans))}")
    plan = plans[service]
    variable = f"{service.upper()}_DB_PASSWORD"
    endpoint = endpoints(project.environment.settings, plan.login.name)[pooler.value]
    entry = django_database(endpoint, "\0", project.plan.database, plan.schema.name)
    out.print(_python_entry(entry, variable), markup=False, highlight=False)


def _python_entry(entry: dict[str, Any], variable: str) -> str:
    """The entry as Python, with PASSWORD read from `variable` rather than inlined."""
    body = repr(entry).replace("'\\x00'", f"os.environ[{variable!r}]")
    return f"import os\n\nDATABASES = {{'default': {body}}}"


migrate_data.register(app)
operations.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
