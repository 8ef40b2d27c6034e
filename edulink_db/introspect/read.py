"""Read the whole DatabaseState: a session query, then one bulk query per catalog.

The number of queries does not depend on how many schemas, tables or policies there are:
every read takes the list of schemas as one array parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

from edulink_db.introspect.constraints import fetch_foreign_keys
from edulink_db.introspect.default_acl import fetch_default_acls
from edulink_db.introspect.history import fetch_history
from edulink_db.introspect.policies import fetch_policies
from edulink_db.introspect.relations import fetch_relations
from edulink_db.introspect.roles import fetch_memberships, fetch_roles
from edulink_db.introspect.routines import fetch_functions, fetch_types
from edulink_db.introspect.schemas import fetch_schemas
from edulink_db.introspect.session import CatalogSession, Datasets
from edulink_db.introspect.state import DatabaseState

MINIMUM_SERVER_VERSION = 150000

DATASETS = (
    "roles",
    "memberships",
    "schemas",
    "relations",
    "policies",
    "default_acls",
    "functions",
    "types",
    "foreign_keys",
    "history",
)


def read_state(
    session: CatalogSession, schemas: Sequence[str], roles: Sequence[str]
) -> DatabaseState:
    """Read what the audit compares: every role and membership, and of `schemas` (the
    services' schemas) their objects, privileges, policies and migration history; default
    privileges of `roles` (the planned roles) and of anyone in `schemas`."""
    info = session.info()
    if info.server_version_num < MINIMUM_SERVER_VERSION:
        reason = (
            f"PostgreSQL {info.server_version} is not supported: the audit reads the catalog "
            "of PostgreSQL 15 or later"
        )
        return DatabaseState(
            session=info,
            unavailable=dict.fromkeys(DATASETS, reason),
            queries=session.queries,
        )
    datasets = Datasets("could not read the catalog ({dataset})")
    unavailable, attempt = datasets.unavailable, datasets.attempt

    relations = attempt("relations", lambda: fetch_relations(session, schemas))
    if relations is None:
        history = None
        unavailable["history"] = unavailable["relations"]
    else:
        history = attempt(
            "history", lambda: fetch_history(session, info.current_user, schemas, relations)
        )
    return DatabaseState(
        session=info,
        roles=attempt("roles", lambda: fetch_roles(session)),
        memberships=attempt("memberships", lambda: fetch_memberships(session)),
        schemas=attempt("schemas", lambda: fetch_schemas(session, schemas)),
        relations=relations,
        policies=attempt("policies", lambda: fetch_policies(session, schemas)),
        default_acls=attempt("default_acls", lambda: fetch_default_acls(session, roles, schemas)),
        functions=attempt("functions", lambda: fetch_functions(session, schemas)),
        types=attempt("types", lambda: fetch_types(session, schemas)),
        foreign_keys=attempt("foreign_keys", lambda: fetch_foreign_keys(session, schemas)),
        history=history,
        unavailable=unavailable,
        queries=session.queries,
    )
