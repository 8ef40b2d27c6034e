"""A policy that admits another service's role to a table is a SELECT policy.

Why: writes across services are never allowed. Grants are the first wall (GR01); a policy
`FOR ALL` / `INSERT` / `UPDATE` / `DELETE` for another service's role on a producer's table
is the second wall opened in advance: the moment someone adds a write grant, rows can be
written. It also documents an intention the catalogue forbids.

**Anti-pattern**: `{schema: auth_schema, table: users, roles: [user_service_role],
command: all, using: "true", with_check: "true"}` registered by the user service.

**Best practice**: a reader gets `FOR SELECT TO reader_role USING (<row_filter>)` only.

**Remediation**: make the policy `command: select`, or remove it.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import ROW_LEVEL_SECURITY, Resource
from edulink_policies.rule import Context, ResourceRule, Violation
from edulink_policies.stack import row_policies


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    for policy in row_policies(resource):
        producer = catalogue.by_schema(policy.schema)
        if producer is None or policy.command == "select":
            continue
        for role in policy.roles:
            service = catalogue.by_role(role)
            if service is not None and service.name != producer.name:
                yield Violation(
                    policy.label,
                    f"lets {role} (service {service.name}) {policy.command.upper()} rows of "
                    f"service {producer.name}'s table; only SELECT may cross services",
                )


RULE = ResourceRule(
    code="RL05",
    name="rl05-cross-service-policies-read-only",
    summary="A policy admitting another service's role to a table is FOR SELECT only.",
    remediation="Make the reader's policy command: select, or remove it.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    config=("catalogue",),
    types=(ROW_LEVEL_SECURITY,),
    check=check,
)
