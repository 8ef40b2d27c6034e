"""Options several commands take, declared once so that their flags and help read the same
in every command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from edulink_db.finding import Level

RootOption = Annotated[
    Path,
    typer.Option("--root", help="The project folder (catalogue.yaml, migrations/, stack files)."),
]
FailOnOption = Annotated[Level, typer.Option("--fail-on", help="Exit 1 at or above this level.")]
AllowNotEvaluatedOption = Annotated[
    bool,
    typer.Option(
        "--allow-not-evaluated", help="Do not fail on checks that could not be evaluated."
    ),
]


def dsn_option(flag: str, envvar: str, help: str) -> Any:
    """A database to connect to: taken from `envvar` when the flag is not given, so that a
    password can stay off the command line; it has no default to show."""
    return typer.Option(flag, envvar=envvar, help=help, show_default=False)
