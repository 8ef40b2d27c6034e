"""The live database, read from the catalog in a few bulk queries into plain data.

`read_state` opens nothing and writes nothing: it runs `fetch_*` reads (one query each, never
one per schema or table) on a `CatalogSession`, a single READ ONLY, REPEATABLE READ
transaction, so every read sees the same snapshot. A read the session may not perform is
recorded as unavailable, with the server's reason, instead of looking like an empty catalog.

One query text serves every major from 15 on. What differs in what is read here: 16 adds
`pg_auth_members.inherit_option` and `set_option` (read through `to_jsonb`, None before 16)
and makes a CREATEROLE role an ADMIN member of each role it creates; 17 adds the MAINTAIN
privilege to table ACLs (`aclexplode` names it, `acldefault` gives it to owners) and the
predefined role `pg_maintain`. Nothing else these reads touch changed in 16 or 17
(tests/audit/test_audit_majors.py shows each difference on every major).
"""

from edulink_db.introspect.read import read_state
from edulink_db.introspect.session import CatalogSession, open_session
from edulink_db.introspect.state import DatabaseState

__all__ = ["CatalogSession", "DatabaseState", "open_session", "read_state"]
