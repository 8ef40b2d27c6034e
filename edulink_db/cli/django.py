"""`edulink-db django-settings` and `edulink-db django-models`: what a Django service needs.

`register(app, guard)` adds both commands; `guard` is the app's decorator that turns user
errors into messages and exit codes, so these commands fail like the others.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from edulink_db.cli.options import RootOption
from edulink_db.django.models import compile_read_models, render_models_module
from edulink_db.django.settings import (
    Pooler,
    SettingsModule,
    password_variable,
    render_settings_module,
    select_endpoint,
)
from edulink_db.errors import UserError
from edulink_db.plan.model import ServicePlan
from edulink_db.project import Project, load_project
from edulink_db.stackfile import read_stack_config

Command = Callable[..., Any]

ServiceOption = Annotated[str, typer.Option("--service", help="The service whose file to write.")]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the module to this file instead of printing it."),
]


def django_settings(
    service: ServiceOption,
    stack: Annotated[str, typer.Option("--stack", "-s", help="The stack whose endpoints to use.")],
    root: RootOption = Path("."),
    pooler: Annotated[
        Pooler | None,
        typer.Option(
            "--pooler",
            help="Which endpoint; default: transaction, or direct on a stack without a pooler.",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """A Django settings module with the service's DATABASES; the password is read from
    <SERVICE>_DB_PASSWORD when the settings load."""
    project = _project(root, stack)
    plan = _service(project, service)
    chosen, endpoint = select_endpoint(project.environment.settings, stack, plan.login.name, pooler)
    module = SettingsModule(
        service=plan.name,
        stack=stack,
        pooler=chosen,
        endpoint=endpoint,
        database=project.plan.database,
        login=plan.login,
        password_variable=password_variable(plan.name),
    )
    _emit(render_settings_module(module), output)


def django_models(
    service: ServiceOption,
    root: RootOption = Path("."),
    stack: Annotated[
        str,
        typer.Option("--stack", "-s", help="Any stack: the models are the same on every one."),
    ] = "prod",
    output: OutputOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 if --output differs from what would be written."),
    ] = False,
) -> None:
    """Unmanaged Django models of exactly the columns the service may read of other
    services (schema-qualified db_table, primary keys, foreign keys between them)."""
    project = _project(root, stack)
    plan = _service(project, service)
    text = render_models_module(
        compile_read_models(project.plan, project.catalogue.shapes, plan.name)
    )
    if check:
        if output is None:
            raise UserError("--check compares with a file: give it with --output")
        if not output.is_file() or output.read_text() != text:
            Console(stderr=True, soft_wrap=True).print(
                f"{output} is out of date: run edulink-db django-models --service "
                f"{plan.name} --output {output}",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(1)
        return
    _emit(text, output)


def _project(root: Path, stack: str) -> Project:
    config, secret = read_stack_config(root, stack)
    return load_project(root, stack, config, secret, require_secrets=False)


def _service(project: Project, name: str) -> ServicePlan:
    known = sorted(s.name for s in project.plan.services)
    if name not in known:
        raise UserError(f"unknown service {name!r}; known: {', '.join(known)}")
    return project.plan.service(name)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        Console(soft_wrap=True).print(text, markup=False, highlight=False, end="")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    Console(stderr=True, soft_wrap=True).print(f"wrote {output}", markup=False, highlight=False)


def register(app: typer.Typer, guard: Callable[[Command], Command]) -> None:
    """Add both commands to `app`, each wrapped in `guard`."""
    app.command("django-settings")(guard(django_settings))
    app.command("django-models")(guard(django_models))
