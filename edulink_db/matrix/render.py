"""The access matrix as text: a grid (rows: services, columns: schemas), JSON, and diffs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from rich.table import Table

from edulink_db.matrix.entries import Entry, EntryDiff


def _cell_lines(entries: Iterable[Entry]) -> list[str]:
    """One line per table: its privileges with column scopes, then the policies that apply."""
    by_object: dict[str | None, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_object[entry.table].append(entry)
    lines = []
    for table in sorted(by_object, key=lambda t: t or ""):
        parts = [_privilege_text(e) for e in by_object[table]]
        lines.append(f"{table}: {', '.join(parts)}" if table else ", ".join(parts))
    return lines


def _privilege_text(entry: Entry) -> str:
    if entry.privilege.startswith("POLICY"):
        return f"policy {entry.detail.split(' ', 1)[0]}"
    if entry.columns:
        return f"{entry.privilege}({', '.join(entry.columns)})"
    return entry.privilege


def _grid(entries: list[Entry]) -> tuple[list[str], list[str], dict[tuple[str, str], list[str]]]:
    services = sorted({e.service for e in entries})
    schemas = sorted({e.schema for e in entries})
    cells: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in entries:
        cells[(entry.service, entry.schema)].append(entry)
    return services, schemas, {key: _cell_lines(value) for key, value in cells.items()}


def render_markdown(entries: list[Entry]) -> str:
    services, schemas, cells = _grid(entries)
    lines = [
        "| service | " + " | ".join(schemas) + " |",
        "|---|" + "---|" * len(schemas),
    ]
    for service in services:
        row = ["<br>".join(cells.get((service, schema), [])) or "—" for schema in schemas]
        lines.append(f"| {service} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def render_table(entries: list[Entry]) -> Table:
    services, schemas, cells = _grid(entries)
    table = Table(title="Access matrix", show_lines=True)
    table.add_column("service", style="bold")
    for schema in schemas:
        table.add_column(schema)
    for service in services:
        table.add_row(service, *("\n".join(cells.get((service, s), [])) or "—" for s in schemas))
    return table


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


def render_diff_markdown(diff: EntryDiff, against: str) -> str:
    """What a reviewer reads next to `pulumi preview --diff`: every privilege gained or lost."""
    if diff.empty:
        return f"**Access matrix:** no change against `{against}`.\n"
    counts = f"{len(diff.added)} added, {len(diff.removed)} removed"
    lines = [
        f"**Access matrix against `{against}`:** {counts}.",
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


def render_diff_json(diff: EntryDiff, against: str) -> str:
    payload = {
        "against": against,
        "added": [_as_dict(e) for e in diff.added],
        "removed": [_as_dict(e) for e in diff.removed],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"
