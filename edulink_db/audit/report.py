"""The audit's result, and whether it should fail a pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from edulink_db.finding import Finding, Level, NotEvaluated


@dataclass(frozen=True)
class AuditReport:
    findings: list[Finding]
    not_evaluated: list[NotEvaluated]
    queries: int  # catalog queries sent; the same however many schemas and tables exist
    database: str = ""
    server_version: str = ""
    user: str = ""
    rules: list[str] = field(default_factory=list)  # codes of the rules that ran
    stack: str = ""  # whose plan the database was compared with

    def count(self, level: Level) -> int:
        return sum(1 for f in self.findings if f.level == level)


def exceeds(report: AuditReport, fail_on: Level | str, *, fail_on_unknown: bool = True) -> bool:
    """True when a finding is at or above `fail_on`.

    A check that could not be evaluated counts too, unless `fail_on_unknown=False`: an
    audit that could not look is not a clean audit (a read-only auditor without SELECT on
    the migration history, for instance, must opt out knowingly).
    """
    threshold = Level(fail_on)
    if any(f.level >= threshold for f in report.findings):
        return True
    return fail_on_unknown and bool(report.not_evaluated)
