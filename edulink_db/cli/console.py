"""How every command prints: consoles made per run, issues one per line, exit codes.

Exit codes are the same for every command, so CI can tell "the check found something" from
"the check could not run":

- 0 success: valid, printed, clean, moved.
- 1 findings: problems in the inputs (`validate`); findings at or above `--fail-on`, or
  checks not evaluated (`audit`); pre-flight problems, nothing written (`migrate-data`).
- 2 could not run: invalid inputs or an unknown stack for a command that needs them
  (`matrix`, `audit`, `django-settings`), an unreachable database, bad arguments, a failed
  git call, a table that failed and was rolled back (`migrate-data`).
- 130 interrupted.

`user_errors` is the one place a user error becomes a message and an exit code; an
internal error keeps its traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from edulink_db.errors import Issue, UserError, ValidationFailed

if TYPE_CHECKING:
    from rich.console import Console

# rich is imported when a console is made, not with this module: the operations commands
# print plain text and need it only to word an error (their start-up is measured).

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


def stdout() -> Console:
    """A console for results; made per run, so the terminal's width (or COLUMNS) is read
    when the command runs, not when the module was imported."""
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False)


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def plain(console: Console, text: str, end: str = "\n") -> None:
    """Text exactly as given: no markup, no highlighting of numbers or brackets."""
    console.print(text, markup=False, highlight=False, end=end)


def print_issues(console: Console, issues: Iterable[Issue], closing: str) -> None:
    """One issue per line, then the closing count in one colour (rich's highlighter would
    colour its number and brackets differently, which reads as several messages)."""
    from rich.text import Text

    for issue in issues:
        plain(console, str(issue))
    console.print(Text(closing, style="bold red"))


def user_errors(invalid_input: int, outcome: str = "") -> Callable[[F], F]:
    """Wrap a command so that bad input ends it with a message, never a traceback.

    Problems in the inputs (`ValidationFailed`) are listed one a line, closed by
    `N problem(s) found<outcome>`, and exit `invalid_input`: 1 where finding them is the
    command's job or a refusal before anything changed, 2 where they stop it from running.
    Any other `UserError` prints `error: <message>` and exits 2.
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except ValidationFailed as failed:
                closing = f"{len(failed.issues)} problem(s) found{outcome}"
                print_issues(stderr(), failed.issues, closing)
                raise typer.Exit(invalid_input) from None
            except UserError as error:
                plain(stderr(), f"error: {error}")
                raise typer.Exit(EXIT_CANNOT_RUN) from None

        return wrapper  # type: ignore[return-value]

    return decorate


def quiet_psycopg() -> None:
    """psycopg logs a warning when a COPY ends with a lost connection; the error that
    follows says it better, once."""
    log = logging.getLogger("psycopg")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
