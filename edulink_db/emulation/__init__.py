"""Hosted Supabase's roles and schemas on a plain PostgreSQL (`supabase.sql`).

Used by the dev stack's embedded database and by the test clusters, so both are the same
shape as a Supabase project: `supabase_admin` the bootstrap superuser, `postgres` a
CREATEROLE non-superuser that owns the database.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

SQL_FILE: Final = Path(__file__).with_name("supabase.sql")
BOOTSTRAP_SUPERUSER: Final = "supabase_admin"
ADMIN_ROLE: Final = "postgres"


@cache
def emulation_sections() -> dict[str, bytes]:
    """The `-- section: <name>` parts of supabase.sql, as bytes ready to execute.

    Bytes, because psycopg only accepts literal strings or composed SQL as query text; the file
    is trusted project content, sent as one multi-statement (implicitly atomic) query.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in SQL_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- section:"):
            current = sections.setdefault(line.split(":", 1)[1].strip(), [])
        elif current is not None:
            current.append(line)
    missing = {"cluster", "database"} - sections.keys()
    if missing:
        raise ValueError(f"{SQL_FILE}: missing section(s) {sorted(missing)}")
    return {name: "\n".join(lines).encode() for name, lines in sections.items()}
