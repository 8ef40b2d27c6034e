"""The access matrix as text: a grid (rows: services, columns: schemas), blocks (one per
service, for terminals and CI logs too narrow for the grid), JSON, and diffs.

The grid of six services needs some 220 columns; squeezed into 80 it cuts every name
(`applica…`). Blocks never cut a name: they wrap between privileges instead.
"""

from __future__ import annotations

import io
import json
import textwrap
from collections import defaultdict
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from edulink_db.matrix.entries import Entry, EntryDiff

INDENT = "  "


# (table or None for the schema itself, the privileges on it)
Line = tuple[str | None, list[str]]


def _cell(entries: Iterable[Entry]) -> list[Line]:
    """The schema's own privileges, then one line per table: its privileges with column
    scopes, then the policies that apply."""
    by_object: dict[str | None, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_object[entry.table].append(entry)
    return [
        (table, [_privilege_text(e) for e in by_object[table]])
        for table in sorted(by_object, key=lambda t: t or "")
    ]


def _line_text(line: Line) -> str:
    table, parts = line
    return f"{table}: {', '.join(parts)}" if table else ", ".join(parts)


def _privilege_text(entry: Entry) -> str:
    if entry.privilege.startswith("POLICY"):
        return f"policy {entry.detail.split(' ', 1)[0]}"
    if entry.columns:
        return f"{entry.privilege}({', '.join(entry.columns)})"
    return entry.privilege


def _grid(entries: list[Entry]) -> tuple[list[str], list[str], dict[tuple[str, str], list[Line]]]:
    services = sorted({e.service for e in entries})
    schemas = sorted({e.schema for e in entries})
    cells: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in entries:
        cells[(entry.service, entry.schema)].append(entry)
    return services, schemas, {key: _cell(value) for key, value in cells.items()}


def _cell_text(cells: dict[tuple[str, str], list[Line]], key: tuple[str, str], sep: str) -> str:
    return sep.join(_line_text(line) for line in cells.get(key, [])) or "—"


def title(stack: str, entries: list[Entry]) -> str:
    services = len({e.service for e in entries})
    schemas = len({e.schema for e in entries})
    return f"Access matrix of stack {stack}: {services} services, {schemas} schemas"


def render_markdown(entries: list[Entry], stack: str) -> str:
    services, schemas, cells = _grid(entries)
    lines = [
        f"**{title(stack, entries)}**",
        "",
        "| service | " + " | ".join(schemas) + " |",
        "|---|" + "---|" * len(schemas),
    ]
    for service in services:
        row = [_cell_text(cells, (service, schema), "<br>") for schema in schemas]
        lines.append(f"| {service} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def render_table(entries: list[Entry], stack: str) -> Table:
    """The wide grid: one row per service, one column per schema."""
    services, schemas, cells = _grid(entries)
    table = Table(title=title(stack, entries), show_lines=True)
    table.add_column("service", style="bold", no_wrap=True)
    for schema in schemas:
        table.add_column(schema)
    for service in services:
        table.add_row(service, *(_cell_text(cells, (service, s), "\n") for s in schemas))
    return table


def grid_fits(entries: list[Entry], stack: str, width: int) -> bool:
    """Whether the grid shows every name whole at `width` columns. Rich squeezes a grid too
    wide for the terminal by cutting words (`applica…`); blocks are the answer then."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(render_table(entries, stack))
    return "…" not in buffer.getvalue()


def render_blocks(entries: list[Entry], stack: str, width: int = 80) -> str:
    """One block per service: each schema it may use, then each table with its privileges,
    wrapped to `width` between privileges; a name longer than a line stays whole."""
    services, schemas, cells = _grid(entries)
    lines = textwrap.wrap(title(stack, entries), width=width, break_long_words=False)
    for service in services:
        lines += ["", service]
        for schema in schemas:
            cell = cells.get((service, schema), [])
            own = [parts for table, parts in cell if table is None]
            if not cell:
                continue
            lines += _wrapped(f"{schema}:", own[0] if own else ["tables only"], INDENT, width)
            for table, parts in cell:
                if table is not None:
                    lines += _wrapped(f"{table}:", parts, INDENT * 2, width)
    return "\n".join(lines) + "\n"


def _wrapped(label: str, parts: list[str], indent: str, width: int) -> list[str]:
    """`label p1, p2, ...` at `indent`, continued under the first privilege; lines break
    between privileges, and inside one only when it alone is wider than a line. A name is
    never broken, even when it is wider than the line."""
    hanging = indent + " " * (len(label) + 1)
    if len(hanging) > width // 2:
        hanging = indent + INDENT
    lines: list[str] = []
    first = current = f"{indent}{label}"
    for index, part in enumerate(parts):
        text = part + ("," if index < len(parts) - 1 else "")
        # A privilege too wide for any line starts beside the label and is folded.
        too_wide = current == first and len(hanging) + len(text) > width
        if len(current) + 1 + len(text) <= width or too_wide:
            current += " " + text
        else:
            lines.append(current)
            current = hanging + text
    lines.append(current)
    return [piece for line in lines for piece in _fold(line, hanging, width)]


def _fold(line: str, hanging: str, width: int) -> list[str]:
    """One privilege wider than the line, broken between its words at the hanging indent."""
    if len(line) <= width:
        return [line]
    body = line.lstrip(" ")
    return textwrap.wrap(
        body,
        width=width,
        initial_indent=line[: len(line) - len(body)],
        subsequent_indent=hanging + INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_json(entries: list[Entry]) -> str:
    return json.dumps([_as_dict(e) for e in entries], indent=2, sort_keys=True) + "\n"


def _as_dict(entry: Entry) -> dict[str, object]:
    return {
        "service": entry.service,
        "schema": entry.schema,
        "table": entry.table,
        "privilege": entry.privilege,
        "columns": list(entry.columns),
        "detail": entry.detail,
    }


def _diff_summary(diff: EntryDiff, against: str, stack: str, code: str = "") -> str:
    if diff.empty:
        return f"Access matrix of stack {stack}: no change against {code}{against}{code}"
    counts = f"{len(diff.added)} added, {len(diff.removed)} removed"
    return f"Access matrix of stack {stack} against {code}{against}{code}: {counts}"


def render_diff_markdown(diff: EntryDiff, against: str, stack: str) -> str:
    """What a reviewer reads next to `pulumi preview --diff`: every privilege gained or lost."""
    if diff.empty:
        return f"**{_diff_summary(diff, against, stack, '`')}.**\n"
    lines = [
        f"**{_diff_summary(diff, against, stack, '`')}.**",
        "",
        "| | service | object | privilege | columns | detail |",
        "|---|---|---|---|---|---|",
    ]
    for sign, items in (("+ added", diff.added), ("- removed", diff.removed)):
        for e in items:
            columns = ", ".join(e.columns) or "all"
            lines.append(
                f"| {sign} | {e.service} | {e.object} | {e.privilege} | {columns} | {e.detail} |"
            )
    return "\n".join(lines) + "\n"


def render_diff_text(diff: EntryDiff, against: str, stack: str, width: int = 80) -> str:
    """The diff for a terminal or a CI log: one line per change, `+` gained, `-` lost."""
    lines = [_diff_summary(diff, against, stack)]
    for sign, items in (("+", diff.added), ("-", diff.removed)):
        for e in items:
            columns = f"({', '.join(e.columns)})" if e.columns else ""
            text = f"{sign} {e.service}: {e.privilege}{columns} on {e.object}"
            text += f": {e.detail}" if e.detail else ""
            lines += textwrap.wrap(
                text,
                width=width,
                subsequent_indent=INDENT * 2,
                break_long_words=False,
                break_on_hyphens=False,
            )
    return "\n".join(lines) + "\n"


def render_diff_json(diff: EntryDiff, against: str, stack: str) -> str:
    payload = {
        "stack": stack,
        "against": against,
        "added": [_as_dict(e) for e in diff.added],
        "removed": [_as_dict(e) for e in diff.removed],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"
