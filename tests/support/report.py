"""What the suite reports at the end: matrix cells probed per PostgreSQL version, and any
secret that showed up in what the tests printed, logged or raised."""

from __future__ import annotations

from collections import Counter

PROBE_COUNTS: dict[str, Counter[str]] = {}

# Every password the tests generate or configure registers itself here; the conftest scans
# each test's captured stdout, stderr, logs and failure text for them.
KNOWN_SECRETS: set[str] = set()
LEAKS: list[str] = []


def register_secret(value: object) -> None:
    text = str(value)
    if len(text) >= 8:  # shorter strings would match by accident
        KNOWN_SECRETS.add(text)


def scan(where: str, text: str) -> None:
    for secret in KNOWN_SECRETS:
        if secret in text:
            LEAKS.append(
                f"{where}: contains a secret ({len(secret)} characters, starting {secret[:2]}…)"
            )
