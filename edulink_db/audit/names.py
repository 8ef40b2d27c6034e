"""How objects are named in findings and in remediation SQL.

Identifiers are quoted exactly when PostgreSQL needs it, so a remediation can be pasted
into psql and an object reads as the user would write it: `table auth_schema.users`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from edulink_db.introspect.state import LiveFunction, LiveRelation, LiveType

_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
_NEEDS_QUOTES = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS

RELATION_KINDS = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "S": "sequence",
    "f": "foreign table",
}


def ident(name: str) -> str:
    if _PLAIN.match(name) and name not in _NEEDS_QUOTES:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    return ".".join(ident(part) for part in parts)


def grantee(name: str) -> str:
    return "PUBLIC" if name in ("PUBLIC", "public") else ident(name)


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def database_object(name: str) -> str:
    return f"database {ident(name)}"


def role_object(name: str) -> str:
    return f"role {ident(name)}"


def schema_object(name: str) -> str:
    return f"schema {ident(name)}"


def relation_object(schema: str, name: str, kind: str = "r") -> str:
    return f"{RELATION_KINDS.get(kind, 'relation')} {qualified(schema, name)}"


def column_object(schema: str, table: str, column: str) -> str:
    return f"column {qualified(schema, table, column)}"


def policy_object(schema: str, table: str, name: str) -> str:
    return f"policy {ident(name)} on {qualified(schema, table)}"


def function_object(schema: str, name: str, arguments: str) -> str:
    return f"function {qualified(schema, name)}({arguments})"


def type_object(schema: str, name: str) -> str:
    return f"type {qualified(schema, name)}"


def default_privileges_object(owner: str, schema: str | None, object_type: str) -> str:
    where = f" in schema {ident(schema)}" if schema else ""
    return f"default privileges of {ident(owner)}{where} on {object_type}s"


def grant_on(keyword: str, schema: str, name: str, arguments: str | None = None) -> str:
    """How GRANT and REVOKE name an object after ON: `FUNCTION s.f(integer)`, `TYPE s.t`,
    and relations with `relation_keyword`."""
    target = f"{keyword} {qualified(schema, name)}"
    return target if arguments is None else f"{target}({arguments})"


def relation_keyword(kind: str) -> str:
    """A sequence is granted ON SEQUENCE; tables, views and the other relations ON TABLE."""
    return "SEQUENCE" if kind == "S" else "TABLE"


@dataclass(frozen=True)
class Grantable:
    """An object privileges are held on, named the two ways a privilege finding needs: as
    the finding's object (`target`) and as GRANT and REVOKE name it after ON (`on`). A
    column's privileges are granted on its table, each followed by the column (`column`,
    e.g. ` (email)`), so the rules that report ACLs word every object the same way."""

    target: str
    on: str
    column: str = ""

    def privileges(self, privileges: Iterable[str]) -> str:
        """The privilege list of a GRANT or REVOKE: `SELECT (email), UPDATE (email)`."""
        return ", ".join(f"{p}{self.column}" for p in privileges)


def relation_grantable(relation: LiveRelation) -> Grantable:
    on = grant_on(relation_keyword(relation.kind), relation.schema, relation.name)
    return Grantable(relation_object(relation.schema, relation.name, relation.kind), on)


def column_grantable(relation: LiveRelation, column: str) -> Grantable:
    on = grant_on(relation_keyword(relation.kind), relation.schema, relation.name)
    target = column_object(relation.schema, relation.name, column)
    return Grantable(target, on, f" ({ident(column)})")


def function_grantable(function: LiveFunction) -> Grantable:
    on = grant_on("FUNCTION", function.schema, function.name, function.arguments)
    return Grantable(function_object(function.schema, function.name, function.arguments), on)


def type_grantable(type_: LiveType) -> Grantable:
    return Grantable(
        type_object(type_.schema, type_.name), grant_on("TYPE", type_.schema, type_.name)
    )


def schema_grantable(name: str) -> Grantable:
    return Grantable(schema_object(name), f"SCHEMA {ident(name)}")
