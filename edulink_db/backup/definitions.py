"""A service's migration files, made runnable in a scratch database where the other
services' schemas do not exist: foreign keys into another schema are left out, and named.

A migration that may hold such a key is parsed with pglast and emitted from the parse tree
without it (`foreign_keys`). One that cannot is run as it is written, without importing or
running the parser (a drill's fixed cost): every foreign key is written with REFERENCES, so a
migration in which every REFERENCES is followed by a table name of its own schema, or by an
unqualified one (which the parse tree reads as its own schema too), has none to leave out.
Anything else after REFERENCES (another schema, a quoted name that is not exactly the schema,
a comment, an escape) sends the migration to the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REFERENCES = re.compile(r"\breferences\b", re.IGNORECASE)
_NAME = r"[a-z_][a-z0-9_$]*"
# After the table's name: its columns, the end of the definition or a keyword (ON, MATCH...).
_AFTER_NAME = r"\s*(?:[(,);]|$)|\s+[a-z]"


@dataclass(frozen=True)
class LeftOut:
    """A foreign key of the schema that the scratch copy does not have."""

    table: str
    columns: tuple[str, ...]
    references: str

    def __str__(self) -> str:
        return f"{self.table} ({', '.join(self.columns)}) → {self.references}"


def references_elsewhere(text: str, schema: str) -> bool:
    """Whether the migration may hold a foreign key into another schema (False only when it
    certainly holds none)."""
    own = rf'(?:{re.escape(schema)}|(?-i:"{re.escape(schema)}"))\s*\.\s*'
    local = re.compile(rf"\s+(?:{own})?{_NAME}(?:{_AFTER_NAME})", re.IGNORECASE)
    return any(not local.match(text, found.end()) for found in _REFERENCES.finditer(text))


def local_definitions(text: str, schema: str) -> tuple[str, list[LeftOut]]:
    """The migration's statements without foreign keys into other schemas, and those keys."""
    if not references_elsewhere(text, schema):
        return text, []
    from edulink_db.backup.foreign_keys import strip_foreign_elsewhere

    return strip_foreign_elsewhere(text, schema)
