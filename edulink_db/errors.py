"""Errors a user can fix, kept apart from internal errors that keep their traceback."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in one input file, located as precisely as the source allows.

    Every problem is collected before anything fails, so a user fixes a file in one pass
    instead of one error per run.
    """

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class UserError(Exception):
    """Bad input: the message is for the person who wrote the input, not for a developer."""


class ValidationFailed(UserError):
    """The inputs broke one or more rules; nothing may be applied."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(sorted(set(issues), key=_issue_order))
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) found, nothing was applied:\n{lines}")


def _issue_order(issue: Issue) -> tuple[str, int, int, str, str]:
    return (issue.file, issue.line or 0, issue.column or 0, issue.path, issue.message)


def ensure_no_issues(issues: Iterable[Issue]) -> None:
    """Raise once with every issue, or return when there is none."""
    collected = list(issues)
    if collected:
        raise ValidationFailed(collected)
