"""One finding shape for the audit, the policy pack, Markdown and SARIF.

A rule either finds something (`Finding`) or says it could not look (`NotEvaluated`); there is
no third, silent outcome, so a check that could not run is never mistaken for one that passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """How bad a finding is: error > warning > info.

    Ordered by severity, not alphabetically (a plain str comparison would put "error" below
    "info"), so `finding.level >= Level.warning` reads as it should.
    """

    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: str) -> bool:
        return self.rank < Level(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Level(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Level(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Level(other).rank


_RANK = {Level.info: 0, Level.warning: 1, Level.error: 2}


@dataclass(frozen=True)
class Finding:
    """Something is wrong with `object`: what (`message`) and how to fix it (`remediation`).

    `code` is the rule's permanent code (e.g. DR08); the same code means the same rule wherever
    it is reported.
    """

    code: str
    level: Level
    object: str
    message: str
    remediation: str

    def sort_key(self) -> tuple[int, str, str, str]:
        return (-self.level.rank, self.code, self.object, self.message)


@dataclass(frozen=True)
class NotEvaluated:
    """Rule `code` could not be evaluated for `object`, and why: not a pass."""

    code: str
    object: str
    reason: str

    def sort_key(self) -> tuple[str, str, str]:
        return (self.code, self.object, self.reason)
