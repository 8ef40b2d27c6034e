"""Python source laid out the way black and ruff format it, so a generated module stays as
written under either formatter at line length 88 or more: a call that fits stays on one
line, a longer one is exploded one argument a line with a trailing comma (which both keep
exploded), and comments are wrapped to fit."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

LINE_LENGTH = 88
INDENT = "    "


def string(value: str) -> str:
    """A literal in the quotes black would choose: double, unless that needs more escapes."""
    if '"' in value and "'" not in value:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def comment(text: str, indent: str = "") -> list[str]:
    """`# text`, wrapped to the line length at `indent`."""
    width = LINE_LENGTH - len(indent) - 2
    return [f"{indent}# {line}" for line in textwrap.wrap(text, width, break_on_hyphens=False)]


def bullet(text: str, indent: str = "") -> list[str]:
    """`# - text`, wrapped with a hanging indent."""
    width = LINE_LENGTH - len(indent) - 2
    lines = textwrap.wrap(
        text, width, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
    )
    return [f"{indent}# {line}" for line in lines]


def call(prefix: str, function: str, arguments: Sequence[str], indent: str = "") -> list[str]:
    """`prefix + function(arguments)` as lines: one if it fits, else one argument a line."""
    one_line = f"{indent}{prefix}{function}({', '.join(arguments)})"
    if len(one_line) <= LINE_LENGTH or not arguments:
        return [one_line]
    inner = indent + INDENT
    return [
        f"{indent}{prefix}{function}(",
        *(f"{inner}{argument}," for argument in arguments),
        f"{indent})",
    ]


def docstring(text: str, indent: str = "") -> list[str]:
    """A docstring of wrapped paragraphs (separated by blank lines in `text`)."""
    width = LINE_LENGTH - len(indent)
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]
    lines: list[str] = []
    for number, paragraph in enumerate(paragraphs):
        if number:
            lines.append("")
        start = "" if number else '"""'
        lines += textwrap.wrap(paragraph, width, initial_indent=start, break_on_hyphens=False)
    if len(lines) == 1 and len(indent + lines[0]) + 3 <= LINE_LENGTH:
        return [f'{indent}{lines[0]}"""']
    lines.append('"""')
    return [f"{indent}{line}" if line else "" for line in lines]
