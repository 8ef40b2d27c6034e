"""Plans and results as plain text; the CLI prints what these return."""

from __future__ import annotations

from edulink_db.datamove.plan import TableMove
from edulink_db.datamove.progress import TableResult
from edulink_db.datamove.run import MoveReport


def render_plan(report: MoveReport) -> str:
    plan = report.plan
    lines = [
        f"Data move of {plan.service}: {report.source} schema {plan.legacy_schema} "
        f"-> {report.target} schema {plan.schema}, as {plan.group_role}",
        f"{len(plan.tables)} table(s), in foreign-key order:",
    ]
    for index, move in enumerate(plan.tables, start=1):
        lines += _table(index, move, report)
    if plan.unmapped:
        lines.append(f"Not in the mapping (left empty): {', '.join(plan.unmapped)}")
    return "\n".join(lines)


def _table(index: int, move: TableMove, report: MoveReport) -> list[str]:
    scan = report.scans.get(move.name)
    rows = report.counts.get(move.name)
    if move.already_verified:
        count = "already copied and verified: skipped (--resume)"
    elif scan is not None:
        count = f"{scan.rows:,} rows, checksum {scan.digest}"
    elif rows is not None:
        count = f"{rows:,} rows"
    else:
        count = "not read: see the problems below"
    rls = ", row-level security forced" if move.force_row_security else ""
    lines = [f"{index:>3}. {move.target} <- {move.legacy} ({count}){rls}"]
    width = max(len(c.target) for c in move.columns)
    for column in move.columns:
        arrow = "<-" if column.mapping.transform is None else "<="
        lines.append(f"       {column.target:<{width}} {arrow} {column.label}")
    if move.defaults:
        lines.append(f"       default: {', '.join(move.defaults)}")
    if move.dropped:
        lines.append(f"       dropped: {', '.join(move.dropped)}")
    if move.sequences:
        lines.append(
            "       sequences set past the copied maximum: "
            + ", ".join(f"{column} ({sequence})" for column, sequence in move.sequences)
        )
    return lines


def render_result(result: TableResult) -> str:
    if result.skipped:
        return f"{result.table}: already copied and verified, skipped"
    return (
        f"{result.table}: {result.rows:,} rows copied from {result.legacy_table} and verified "
        f"(checksum {result.checksum}) in {result.seconds:.1f} s"
    )


def render_summary(report: MoveReport) -> str:
    copied = [r for r in report.results if not r.skipped]
    skipped = len(report.results) - len(copied)
    rows = sum(r.rows for r in copied)
    text = f"{report.plan.service}: {len(copied)} table(s) copied and verified, {rows:,} rows"
    return text + (f"; {skipped} skipped (verified by an earlier run)" if skipped else "")
