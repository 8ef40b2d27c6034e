"""Helpers shared by the audit tests."""

from __future__ import annotations

from edulink_db.audit.report import AuditReport


def codes(report: AuditReport) -> set[tuple[str, str]]:
    """What a report found, as (code, object) pairs: what the scenarios compare."""
    return {(f.code, f.object) for f in report.findings}


def assert_clean(report: AuditReport) -> None:
    assert [(f.code, f.object, f.message) for f in report.findings] == []
    assert report.not_evaluated == []
