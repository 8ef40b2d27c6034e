"""Make the policy pack's rules importable (`edulink_policies` lives in policies/, which is
not a Python package of the project), without ever importing `policies/__main__.py`."""

from __future__ import annotations

import sys
from pathlib import Path

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
if str(POLICIES_DIR) not in sys.path:
    sys.path.insert(0, str(POLICIES_DIR))
