"""Build the edulink-db CrossGuard pack. Run by the Pulumi CLI, never imported by tests:
the PolicyPack constructor starts the analyzer's gRPC server and blocks.

    pulumi preview --policy-pack policies [--policy-pack-config policy-config.json]
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The CLI runs this file: make the rules package importable, and the project's core for the
# one reading the pack shares with the audit (edulink_db.rowpolicy; pglast only).
for folder in (HERE.parent, HERE):  # HERE ends up first
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from edulink_policies.registry import PACK_NAME, policies  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    # Every rule sets its own level; this only applies to a rule that would not.
    enforcement_level=EnforcementLevel.ADVISORY,
    description="edulink-db isolation: no PUBLIC, read-only and declared cross-service grants, "
    "no privileged roles, RLS forced on sensitive tables, protected stateful resources.",
    readme=(HERE / "README.md").read_text(encoding="utf-8"),
)
