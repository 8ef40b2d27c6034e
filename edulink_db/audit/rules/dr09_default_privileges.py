"""DR09: default privileges (what new objects get) differ from the plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import default_privileges_object, ident
from edulink_db.audit.privileges import compare_acl, privilege_list, remediation
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level

# What PostgreSQL gives roles other than the owner when no default privilege says otherwise.
BUILT_IN = {
    "function": {("PUBLIC", "EXECUTE")},
    "type": {("PUBLIC", "USAGE")},
}


class DefaultPrivileges(Rule):
    """Default privileges — what objects created later receive — differ from the plan.

    Why: PostgreSQL lets PUBLIC execute every new function and use every new type. The plan
    takes that away for everything a service's group creates, globally (it is the only way),
    so a function a service adds in a later migration is not callable by every role of the
    database. If the revoke is gone, every new function is; if someone adds a default grant,
    every new table of that owner is readable by its grantee — including columns that a
    column-scoped read was meant to hide.

    **Anti-pattern**: `ALTER DEFAULT PRIVILEGES FOR ROLE auth_service_role GRANT SELECT ON
    TABLES TO user_service_role`, or resetting the revoke with `GRANT EXECUTE ON FUNCTIONS
    TO PUBLIC`.

    **Best practice**: default privileges only ever take away; what another service may read
    is declared per table and column in catalogue.yaml.

    **Remediation**: `ALTER DEFAULT PRIVILEGES FOR ROLE <owner> [IN SCHEMA <schema>]
    REVOKE ...` as the finding says, or `pulumi up --refresh` to restore the plan's revokes.
    """

    code = "DR09"
    name = "drift.default_privileges"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        planned: dict[tuple[str, str | None, str], dict[str, set[str]]] = defaultdict(dict)
        for service in ctx.plan.services:
            for default in service.default_privileges:
                planned_key = (default.owner, default.schema, str(default.object_type))
                planned[planned_key][default.grantee] = set(default.privileges)
        for live in ctx.default_acls:
            key = (live.owner, live.schema, live.object_type)
            wanted = set(BUILT_IN.get(live.object_type, set())) if live.schema is None else set()
            for planned_grantee, planned_privileges in planned.get(key, {}).items():
                role = "PUBLIC" if planned_grantee.lower() == "public" else planned_grantee
                wanted = {(g, p) for g, p in wanted if g != role}
                wanted |= {(role, p) for p in planned_privileges}
            diff = compare_acl(live.acl, wanted, live.owner, ignore=frozenset())
            target = default_privileges_object(live.owner, live.schema, live.object_type)
            prefix = f"ALTER DEFAULT PRIVILEGES FOR ROLE {ident(live.owner)}"
            if live.schema is not None:
                prefix += f" IN SCHEMA {ident(live.schema)}"
            objects = f"{live.object_type.upper()}S"
            news = f"new {live.object_type}s of {live.owner}"
            for kind, role, privileges in diff.each():
                listed = privilege_list(privileges)
                message = {
                    "extra": f"{news} give {role} {listed}, which the plan does not",
                    "grantable": f"{news} give {role} {listed} WITH GRANT OPTION",
                    "missing": f"{news} do not give {role} {listed}, which the plan does",
                }[kind]
                fix = remediation(kind, listed, objects, role, prefix=f"{prefix} ")
                yield self.finding(target, message, fix)
