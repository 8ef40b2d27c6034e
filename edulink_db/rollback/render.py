"""A rollback's result as text: what came back, how faithfully, and what did not."""

from __future__ import annotations

from edulink_db.rollback.run import RollbackReport


def render_rollback(report: RollbackReport) -> str:
    plan = report.plan
    lines: list[str] = []
    for result in report.tables:
        how = "created" if result.created else "filled"
        covered = len(result.verified)
        total = covered + len(result.not_verified)
        lines.append(
            f"{result.target} → {result.legacy} ({how}): {result.rows:,} rows, checksum "
            f"{result.checksum} over {covered} of {total} columns"
        )
        table = plan.table(result.target.split(".", 1)[1])
        assert table is not None
        for column in table.columns:
            if column.fidelity != "exact":
                lines.append(f"  {column.legacy} ← {column.mapping}: {_FIDELITY[column.fidelity]}")
        for legacy, why in table.lost:
            lines.append(f"  not given back: {legacy} ({why})")
    if plan.skipped:
        lines.append(
            f"legacy tables the mapping skipped, not given back: {', '.join(plan.skipped)}"
        )
    rows = sum(r.rows for r in report.tables)
    lines.append(
        f"{plan.service}: {len(report.tables)} table(s), {rows:,} rows rolled back into "
        f"{report.target} and verified with the mapping's checksums in {report.seconds:.1f} s"
    )
    return "\n".join(lines)


_FIDELITY = {
    "reversed": "reversed (exact where the legacy value was never NULL)",
    "normalised": "the normalised value (the legacy spelling is not known)",
}
