"""SL06: PUBLIC or a Data API role holds a privilege in a service's schema."""

from __future__ import annotations

from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import (
    Grantable,
    column_grantable,
    function_grantable,
    relation_grantable,
    schema_grantable,
    type_grantable,
)
from edulink_db.audit.privileges import exposed, privilege_list, remediation
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level
from edulink_db.introspect.state import Acl


class ExposedPrivileges(Rule):
    """PUBLIC, anon, authenticated or service_role holds a privilege on a service's schema
    or an object in it.

    Why: nothing is granted to PUBLIC — every role of the database, current and future —
    and the services' schemas are not for the Data API: `anon` and `authenticated` are what
    any visitor of the project's REST endpoint acts as, and `service_role` bypasses RLS. One
    such grant exposes a service's data outside the services.

    **Anti-pattern**: `GRANT USAGE ON SCHEMA institution_schema TO PUBLIC`, or adding a
    service schema to the API's exposed schemas and granting `anon` what it needs.

    **Best practice**: services reach each other's data only through declared reads; data
    meant for the API lives in a schema of its own, with RLS.

    **Remediation**: `REVOKE ... FROM PUBLIC` (or the API role) as the finding says.
    """

    code = "SL06"
    name = "security.exposed_privileges"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        for name, live in sorted(ctx.schemas.items()):
            yield from self._report(schema_grantable(name), live.acl)
        for _, relation in sorted(ctx.relations.items()):
            yield from self._report(relation_grantable(relation), relation.acl, relation.owner)
            for column, acl in relation.column_acl.items():
                yield from self._report(column_grantable(relation, column), acl)
        for function in ctx.functions:
            if function.from_extension:
                continue
            yield from self._report(function_grantable(function), function.acl, function.owner)
        for type_ in ctx.types:
            yield from self._report(type_grantable(type_), type_.acl, type_.owner)

    def _report(self, object_: Grantable, acl: Acl, owner: str = "") -> Iterator[Outcome]:
        for role, privileges in exposed(acl, owner).items():
            listed = privilege_list(privileges)
            who = "every role (PUBLIC)" if role == "PUBLIC" else f"the Data API role {role}"
            fix = remediation("extra", object_.privileges(privileges), object_.on, role)
            yield self.finding(object_.target, f"{who} holds {listed}", fix)
