"""pydantic errors as Issues, shared by every input file the platform reads."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from edulink_db.errors import Issue
from edulink_db.identifiers import IDENTIFIER_PATTERN
from edulink_db.yamlsource import PathKey


def pydantic_issues(error: ValidationError, locate: Callable[[PathKey, str], Issue]) -> list[Issue]:
    issues = []
    for detail in error.errors(include_url=False):
        path: list[str | int] = []
        message = _message(detail)
        for part in detail["loc"]:
            if part == "[key]":
                message = f"invalid name: {message}"
                continue
            path.append(part)
        issues.append(locate(tuple(path), message))
    return issues


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind == "string_pattern_mismatch":
        return f"{detail['input']!r} is not a valid identifier (must match {IDENTIFIER_PATTERN})"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        return str(detail["msg"]).removeprefix("Value error, ")
    return str(detail["msg"])
