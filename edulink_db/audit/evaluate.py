"""Run every rule on one context; nothing a rule does can make a check silently pass."""

from __future__ import annotations

from collections.abc import Sequence

from edulink_db.audit.context import AuditContext, DatasetUnavailable
from edulink_db.audit.rule import Rule
from edulink_db.audit.rules import RULES
from edulink_db.finding import Finding, NotEvaluated


def evaluate(
    ctx: AuditContext, rules: Sequence[Rule] = RULES
) -> tuple[list[Finding], list[NotEvaluated]]:
    """Findings and "not evaluated" results, each sorted and without duplicates.

    A rule that needs a dataset the audit could not read is not evaluated, with the server's
    reason; a rule that raises is not evaluated, with the exception. What it found before
    either happened is kept.
    """
    findings: set[Finding] = set()
    skipped: set[NotEvaluated] = set()
    for rule in rules:
        try:
            for outcome in rule.check(ctx):
                if isinstance(outcome, Finding):
                    findings.add(outcome)
                else:
                    skipped.add(outcome)
        except DatasetUnavailable as missing:
            skipped.add(rule.not_evaluated(ctx.database, missing.reason))
        except Exception as crash:  # a crashing rule is reported, never silence
            skipped.add(
                rule.not_evaluated(
                    ctx.database, f"the rule failed: {type(crash).__name__}: {crash}"
                )
            )
    return (
        sorted(findings, key=Finding.sort_key),
        sorted(skipped, key=NotEvaluated.sort_key),
    )
