"""DR06: a service's schema is missing, or it or an object in it has another owner."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import (
    function_object,
    ident,
    qualified,
    relation_object,
    schema_object,
    type_object,
)
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level

_ALTER = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
_ROUTINE = {"p": "PROCEDURE", "a": "AGGREGATE"}


class Ownership(Rule):
    """A service's schema is missing, or the schema or an object in it is not owned by the
    service's group role.

    Why: the group role owns the schema and everything in it: that is what lets the service
    migrate its own tables, and what every grant, policy and default privilege of the plan is
    written for. An object owned by the login role, the admin or another service escapes the
    group's default privileges (so PUBLIC may execute its functions), and its owner bypasses
    its RLS unless forced.

    **Anti-pattern**: a migration run as `postgres`, or as the login role after
    `RESET ROLE`, leaving objects the group does not own.

    **Best practice**: the service's login role carries `role = <group>`, and migrations run
    with `SET ROLE <group>`, so every object is created by the group.

    **Remediation**: `ALTER <kind> <object> OWNER TO <group>` (as the admin, a member of the
    group); a missing schema is created again by `pulumi up --refresh`.
    """

    code = "DR06"
    name = "drift.ownership"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        schemas = ctx.schemas
        for name, service in ctx.services_by_schema.items():
            owner = service.schema.owner
            live = schemas.get(name)
            if live is None:
                yield self.finding(
                    schema_object(name),
                    f"schema {name} of service {service.name} does not exist",
                    "Run `pulumi up --refresh` for this stack to create it and migrate it.",
                )
            elif live.owner != owner:
                yield self.finding(
                    schema_object(name),
                    f"is owned by {live.owner}, the plan says {owner}",
                    f"ALTER SCHEMA {ident(name)} OWNER TO {ident(owner)}",
                )
        for target, schema, owner, altered in _owned_objects(ctx):
            group = ctx.services_by_schema[schema].schema.owner
            if owner != group:
                yield self.finding(
                    target,
                    f"is owned by {owner}, not by the service's group {group}",
                    f"ALTER {altered} OWNER TO {ident(group)}",
                )


def _owned_objects(ctx: AuditContext) -> Iterator[tuple[str, str, str, str]]:
    """Each object in the services' schemas as (finding object, schema, owner, what ALTER
    names it as); functions of extensions belong to the extension."""
    for rel in sorted(ctx.relations.values(), key=lambda r: (r.schema, r.name)):
        altered = f"{_ALTER.get(rel.kind, 'TABLE')} {qualified(rel.schema, rel.name)}"
        yield relation_object(rel.schema, rel.name, rel.kind), rel.schema, rel.owner, altered
    for fn in ctx.functions:
        if not fn.from_extension:
            routine = _ROUTINE.get(fn.kind, "FUNCTION")
            altered = f"{routine} {qualified(fn.schema, fn.name)}({fn.arguments})"
            yield function_object(fn.schema, fn.name, fn.arguments), fn.schema, fn.owner, altered
    for typ in ctx.types:
        altered = f"TYPE {qualified(typ.schema, typ.name)}"
        yield type_object(typ.schema, typ.name), typ.schema, typ.owner, altered
