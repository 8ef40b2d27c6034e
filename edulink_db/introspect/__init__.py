"""The live database, read from the catalog in a few bulk queries into plain data.

`read_state` opens nothing and writes nothing: it runs `fetch_*` reads (one query each, never
one per schema or table) on a `CatalogSession`, a single READ ONLY, REPEATABLE READ
transaction, so every read sees the same snapshot. A read the session may not perform is
recorded as unavailable, with the server's reason, instead of looking like an empty catalog.
"""

from edulink_db.introspect.read import read_state
from edulink_db.introspect.session import CatalogSession, open_session
from edulink_db.introspect.state import DatabaseState

__all__ = ["CatalogSession", "DatabaseState", "open_session", "read_state"]
