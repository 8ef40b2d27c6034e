"""What every step of one data move works with: its two database sessions and the mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from edulink_db.datamove.mapping import LoadedMapping
from edulink_db.datamove.progress import Progress


@dataclass(frozen=True)
class MoveSessions:
    """The legacy database (`source`, read through the run's one snapshot) and the new one
    (`target`, as the platform admin), with the loaded mapping, which service owns each
    schema of the target, and where progress goes.

    The pre-flight, the reference checks and the copy all need these together, so they
    travel as one value rather than as the same five parameters of every step.
    """

    source: psycopg.Connection[Any]
    target: psycopg.Connection[Any]
    loaded: LoadedMapping
    services_by_schema: Mapping[str, str]
    progress: Progress
