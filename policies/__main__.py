"""Build the edulink-db CrossGuard pack. Run by the Pulumi CLI, never imported by tests:
the PolicyPack constructor starts the analyzer's gRPC server and blocks.

    pulumi preview --policy-pack policies [--policy-pack-config policy-config.json]
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the CLI runs this file; make the rules package importable
    sys.path.insert(0, str(HERE))

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
