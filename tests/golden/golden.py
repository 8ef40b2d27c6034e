"""Compare an output with its golden file; rewrite the file only when asked to."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
UPDATE = "EDULINK_UPDATE_GOLDEN"


def assert_golden(name: str, text: str) -> None:
    """`text` must equal tests/golden/<name>; with EDULINK_UPDATE_GOLDEN=1 it becomes it."""
    path = FOLDER / name
    if os.environ.get(UPDATE) == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), (
        f"no golden file {path}; create it with {UPDATE}=1 (tests/golden/README.md)"
    )
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"output differs from {path.relative_to(FOLDER.parents[1])}; if the change is "
        f"intended, regenerate with {UPDATE}=1 and review the diff (tests/golden/README.md)"
    )
