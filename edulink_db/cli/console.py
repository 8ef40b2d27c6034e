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
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from edulink_db.errors import Issue

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130


def stdout() -> Console:
    """A console for results; made per run, so the terminal's width (or COLUMNS) is read
    when the command runs, not when the module was imported."""
    return Console(soft_wrap=True, highlight=False)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def plain(console: Console, text: str, end: str = "\n") -> None:
    """Text exactly as given: no markup, no highlighting of numbers or brackets."""
    console.print(text, markup=False, highlight=False, end=end)


def print_issues(console: Console, issues: Iterable[Issue], closing: str) -> None:
    """One issue per line, then the closing count in one colour (rich's highlighter would
    colour its number and brackets differently, which reads as several messages)."""
    for issue in issues:
        plain(console, str(issue))
    console.print(Text(closing, style="bold red"))
