"""Figures the suite prints at the end: per PostgreSQL version, matrix cells probed."""

from __future__ import annotations

from collections import Counter

PROBE_COUNTS: dict[str, Counter[str]] = {}
