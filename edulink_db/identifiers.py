"""The one rule every SQL identifier of the platform obeys.

Names are checked when they are loaded and quoted whenever they are used: the pattern keeps
them lower-case, unquoted-safe and within PostgreSQL's 63-byte limit, so a name means the same
thing in the catalogue, in pg_catalog and in a reviewer's head.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

IDENTIFIER_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]


def is_identifier(name: str) -> bool:
    return bool(_IDENTIFIER.fullmatch(name))
