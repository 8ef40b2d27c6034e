"""When a figure becomes a finding, and at which level: the inspection's one input file.

Defaults follow what `supabase inspect db` and postgres_exporter's usual alerts use, tied to
the plan where the platform knows better (a role's connection limit and statement timeout).
`--thresholds FILE` overrides any of them from YAML:

```yaml
connections: {warning: 0.7, error: 0.9}   # share of the role's planned connection limit
cache_hit: {warning: 0.98, error: 0.9}    # below these ratios
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edulink_db.errors import ValidationFailed, ensure_no_issues
from edulink_db.validation import pydantic_issues
from edulink_db.yamlsource import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ceiling(_Strict):
    """A figure that is bad when high: warning at or above `warning`, error at or above
    `error`."""

    warning: float = Field(ge=0)
    error: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Ceiling:
        if self.error < self.warning:
            raise ValueError("error must be at or above warning")
        return self


class Floor(_Strict):
    """A ratio that is bad when low: warning below `warning`, error below `error`."""

    warning: float = Field(ge=0, le=1)
    error: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Floor:
        if self.error > self.warning:
            raise ValueError("error must be at or below warning")
        return self


class Thresholds(_Strict):
    # share of the planned connection limit in use
    connections: Ceiling = Ceiling(warning=0.8, error=1.0)
    # a statement's worst time, or a running query's age, as a share of statement_timeout
    statement_timeout: Ceiling = Ceiling(warning=0.5, error=0.9)
    # buffer cache hit ratio of a service's tables and indexes, once enough blocks were read
    cache_hit: Floor = Floor(warning=0.99, error=0.95)
    cache_min_blocks: int = Field(default=1000, ge=0)
    # an index never scanned since the statistics were reset, from this size on
    unused_index_min_bytes: int = Field(default=1024 * 1024, ge=0)
    # sequential scans as a share of all scans, on tables with at least this many rows
    seq_scan_share: Ceiling = Ceiling(warning=0.5, error=0.9)
    seq_scan_min_rows: int = Field(default=10_000, ge=0)
    # dead rows as a share of all rows, from this many dead rows on
    dead_rows: Ceiling = Ceiling(warning=0.2, error=0.5)
    dead_rows_min: int = Field(default=1000, ge=0)
    # estimated wasted space as a share of the table, from this many wasted bytes on
    bloat: Ceiling = Ceiling(warning=0.5, error=2.0)
    bloat_min_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    # seconds a session has waited for another's lock
    blocked_seconds: Ceiling = Ceiling(warning=5, error=60)
    # seconds a transaction has been open (idle in transaction included)
    transaction_seconds: Ceiling = Ceiling(warning=60, error=300)


def load_thresholds(path: Path | None) -> Thresholds:
    """The defaults, or the file's values over them; every problem at once, with its line."""
    if path is None:
        return Thresholds()
    source = load_yaml(path, str(path))
    try:
        return Thresholds.model_validate(source.data or {})
    except ValidationError as error:
        ensure_no_issues(pydantic_issues(error, source.issue))
        raise ValidationFailed([]) from error  # pragma: no cover - pydantic always has errors
