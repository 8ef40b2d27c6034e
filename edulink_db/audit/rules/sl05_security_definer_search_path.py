"""SL05: a SECURITY DEFINER function without a fixed search_path."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import function_object, qualified
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class SecurityDefinerSearchPath(Rule):
    """A SECURITY DEFINER function has no fixed search_path (splinter 0011, for definers).

    Why: a SECURITY DEFINER function runs with its owner's privileges — here a service's
    group, which owns its whole schema. Without `SET search_path` it resolves unqualified
    names through the caller's search_path, so a caller who can create objects in a schema
    on that path can substitute a function or operator and run it as the owner.

    **Anti-pattern**: `CREATE FUNCTION ... SECURITY DEFINER AS $$ ... $$` with no SET clause.

    **Best practice**: `SECURITY DEFINER SET search_path = ''` and schema-qualified names in
    the body; better still, SECURITY INVOKER.

    **Remediation**: `ALTER FUNCTION <function> SET search_path = ''` (and qualify the names
    its body uses), in a migration.
    """

    code = "SL05"
    name = "security.security_definer_search_path"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        for function in ctx.functions:
            if not function.security_definer or function.from_extension:
                continue
            if any(item.lower().startswith("search_path=") for item in function.config):
                continue
            yield self.finding(
                function_object(function.schema, function.name, function.arguments),
                f"is SECURITY DEFINER (runs as {function.owner}) without a fixed search_path",
                f"ALTER FUNCTION {qualified(function.schema, function.name)}"
                f"({function.arguments}) SET search_path = ''; and schema-qualify the names in "
                "its body",
            )
