"""A service's grants on another service's schema or tables are read-only and name tables.

Why: writes across services are never allowed (each service owns its data and its
invariants). What may cross is USAGE on the schema, SELECT and REFERENCES (for a cross-schema
foreign key) on named tables, column-scoped where the table is sensitive, and never a secret
column. A schema-wide grant (`ALL TABLES IN SCHEMA`, or default privileges for another
service's role) covers tables created later, whole-table, which defeats column-scoped reads;
CREATE on another's schema lets a service plant objects the owner then runs.

**Anti-pattern**: `Grant(role="user_service_role", schema="auth_schema", object_type="table",
objects=["users"], privileges=["INSERT", "UPDATE"])`; `objects=[]` (all tables);
`privileges=["ALL"]`; `object_type="schema", privileges=["CREATE"]`;
`DefaultPrivileges(role="user_service_role", owner="auth_service_role", ...)`;
a whole-table SELECT on a sensitive table, or `columns=["password_hash"]`.

**Best practice**: declare the read on the consumer in catalogue.yaml (`reads:` with
`columns` and `references`); it compiles to USAGE + column-scoped SELECT/REFERENCES.

**Remediation**: drop the write privileges and schema-wide grants; name the table and, for a
sensitive table, its non-secret columns.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.grants import GrantView, grant_view
from edulink_policies.resources import DEFAULT_PRIVILEGES, GRANT, Resource
from edulink_policies.rule import Context, ResourceRule, Violation

READ_ONLY = {
    "schema": ("USAGE",),
    "table": ("SELECT", "REFERENCES"),
    "column": ("SELECT", "REFERENCES"),
}


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    grant = grant_view(resource)
    consumer = catalogue.by_role(grant.role)
    if consumer is None or not grant.privileges:
        return
    if grant.default:
        producer = catalogue.by_schema(grant.schema) or catalogue.by_role(grant.owner)
        if producer is not None and producer.name != consumer.name:
            yield Violation(
                resource.name,
                f"{grant.describe()}: default privileges for service {consumer.name} on "
                f"{producer.name}'s objects cover every future object, whole-table, which "
                "defeats column-scoped reads",
                "remove it; declare the read in catalogue.yaml so it compiles to grants on "
                "named tables and columns",
            )
        return
    producer = catalogue.by_schema(grant.schema)
    if producer is None or producer.name == consumer.name:
        return
    yield from _cross(resource, grant, consumer.name, producer.name, context)


def _cross(
    resource: Resource, grant: GrantView, consumer: str, producer: str, context: Context
) -> Iterator[Violation]:
    where = f"{grant.describe()} (service {consumer} on {producer}'s schema)"
    allowed = READ_ONLY.get(grant.object_type)
    if allowed is None:
        yield Violation(
            resource.name,
            f"{where}: only schema USAGE and table/column SELECT, REFERENCES may cross "
            f"services, not {grant.object_type or 'untyped'} grants",
        )
        return
    forbidden = [p for p in grant.privileges if p not in allowed]
    if forbidden:
        yield Violation(
            resource.name,
            f"{where}: {', '.join(forbidden)} across services; cross-service grants are "
            f"read-only ({', '.join(allowed)})",
        )
    if grant.object_type == "schema":
        return
    if not grant.objects:
        yield Violation(
            resource.name,
            f"{where}: names no table, so it covers every table of the schema, present and future",
        )
    catalogue = context.catalogue()
    for name in grant.objects:
        table = catalogue.table(grant.schema, name)
        if table is None:
            continue
        if table.sensitive and not grant.column_scoped:
            yield Violation(
                resource.name,
                f"{where}: {table.qualified} is sensitive, so a cross-service grant must "
                "name its columns",
                "use object_type='column' with the columns declared in catalogue.yaml",
            )
        exposed = (
            sorted(set(grant.columns) & table.secret_columns)
            if grant.column_scoped
            else sorted(table.secret_columns)
        )
        if exposed:
            yield Violation(
                resource.name,
                f"{where}: reaches secret column(s) {', '.join(exposed)} of {table.qualified}",
                "name only non-secret columns",
            )


RULE = ResourceRule(
    code="GR01",
    name="gr01-cross-service-grants-read-only",
    summary="Cross-service grants are read-only (USAGE, SELECT, REFERENCES), name their "
    "tables, are column-scoped on sensitive tables and never reach a secret column.",
    remediation="Declare the read in catalogue.yaml (reads: columns, references) and let it "
    "compile; drop write privileges, ALL, CREATE and schema-wide or default-privilege grants.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    doc=__doc__ or "",
    config=("catalogue",),
    types=(GRANT, *DEFAULT_PRIVILEGES),
    check=check,
)
