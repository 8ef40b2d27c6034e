"""Backup and restore results as text for the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a restore does not pay for the backup's imports (catalogue, migrations)
    from edulink_db.backup.dump import BackupReport
    from edulink_db.backup.restore import RestoreReport


def render_backup(report: BackupReport) -> str:
    manifest = report.manifest
    lines = [f"{t.name}: {t.rows:,} rows, checksum {t.checksum}" for t in manifest.tables]
    migrations = ", ".join(f"{m.version:04d}_{m.name}" for m in manifest.migrations)
    lines.append(
        f"{manifest.service}: {len(manifest.tables)} table(s), {manifest.rows:,} rows, "
        f"migrations {migrations}; {report.path} ({report.bytes:,} bytes) in "
        f"{report.seconds:.1f} s"
    )
    return "\n".join(lines)


def render_restore(report: RestoreReport) -> str:
    manifest = report.manifest
    lines = [f"{t.name}: {t.rows:,} rows verified" for t in manifest.tables]
    for key in report.left_out:
        lines.append(f"left out (its schema is not in this database): foreign key {key}")
    result = report.in_place_result
    if result is not None:
        lines.append(
            f"in place: {len(result.merged)} table(s) merged by primary key "
            f"({', '.join(result.merged) or 'none'}), {len(result.replaced)} replaced; "
            f"{result.references} foreign key(s) of other services checked, their rows unchanged"
        )
    mode = "in place" if report.in_place else "into a scratch schema"
    lines.append(
        f"{manifest.service}: {len(manifest.tables)} table(s), {manifest.rows:,} rows restored "
        f"{mode} on {report.target} and verified against the manifest in {report.seconds:.1f} s"
    )
    return "\n".join(lines)
