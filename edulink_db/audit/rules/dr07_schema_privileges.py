"""DR07: privileges on a service's schema differ from the plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import schema_grantable
from edulink_db.audit.privileges import compare_acl, privilege_list, remediation
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class SchemaPrivileges(Rule):
    """Privileges on a service's schema differ from the plan.

    Why: USAGE on a schema is the door to everything in it that a role holds privileges on,
    and CREATE lets a role put objects (and functions that shadow others) into it. The plan
    gives USAGE to exactly the services that declare a read of one of its tables, and
    nothing else. Grants to PUBLIC and the Data API roles are reported by SL06.

    **Anti-pattern**: `GRANT USAGE ON SCHEMA internship_schema TO notification_service_role`
    by hand, ahead of a catalogue change that never came.

    **Best practice**: declare the read in catalogue.yaml; the plan grants USAGE with it.

    **Remediation**: `REVOKE <privilege> ON SCHEMA <schema> FROM <role>` for an extra
    privilege; `pulumi up --refresh` restores a missing one.
    """

    code = "DR07"
    name = "drift.schema_privileges"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        schemas = ctx.schemas
        planned: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for wanted in ctx.plan.wanted_acl():
            if wanted.table is None:
                planned[wanted.schema].add((wanted.grantee, wanted.privilege))
        for name, service in ctx.services_by_schema.items():
            live = schemas.get(name)
            if live is None:
                continue  # DR06
            diff = compare_acl(live.acl, planned.get(name, set()), live.owner)
            schema = schema_grantable(name)
            for kind, role, privileges in diff.each():
                listed = privilege_list(privileges)
                message = {
                    "extra": (
                        f"{role} holds {listed} on schema {name}, which the plan does not grant"
                    ),
                    "grantable": (
                        f"{role} holds {listed} WITH GRANT OPTION; the plan grants no option"
                    ),
                    "missing": (
                        f"{role} lacks {listed} on schema {name}, which the plan grants "
                        f"({service.name}'s tables are read by it)"
                    ),
                }[kind]
                fix = remediation(kind, listed, schema.on, role)
                yield self.finding(schema.target, message, fix)
