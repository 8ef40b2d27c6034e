"""Every resource's URN is pinned: a rename without an alias is a delete plus a create.

The engine creates the new name and then deletes the old one; for a `postgresql:Grant` that
delete revokes the privilege the create has just granted. So a change of any URN must be
deliberate: give the renamed resource `aliases=[pulumi.Alias(name=<old name>)]` (or the old
parent), then regenerate the golden lists with `EDULINK_UPDATE_GOLDEN=1 ./scripts/test
tests/test_urns.py` and let the review see both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.program import recorded

GOLDEN = Path(__file__).parent / "golden" / "urns"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_resource_urns_are_pinned(stack: str) -> None:
    recording = recorded(stack)
    # The root stack is left out: the mocks register it once per process, whichever stack
    # is recorded first, and its URN is fixed by the project and stack names anyway.
    urns = sorted(r.urn for r in recording.resources if r.type != "pulumi:pulumi:Stack")
    golden = GOLDEN / f"{stack}.txt"
    if os.environ.get("EDULINK_UPDATE_GOLDEN"):
        golden.write_text("\n".join(urns) + "\n")
    pinned = golden.read_text().splitlines()
    aliased = {alias for r in recording.resources for alias in r.aliases}
    added = sorted(set(urns) - set(pinned))
    removed = sorted(set(pinned) - set(urns) - aliased)
    assert (added, removed) == ([], []), (
        f"{stack}: URNs changed without aliases (added {added}, removed {removed}); "
        "see this module's docstring"
    )
    assert len(urns) == len(set(urns))
