"""Every cross-service grant lies inside an edge the catalogue declares.

Why: catalogue.yaml is the reviewed statement of who reads what ("user reads auth.users (id,
email, is_active) and references auth.users(id)"). The grants actually registered must not
reach further: a grant to a table nobody declared, a column beyond the declared ones, a
REFERENCES nobody needs, or a grant to the consumer's login role instead of its group role
is access that no review approved, even when it is read-only (GR01 checks the kind of access,
this rule checks that it was asked for).

An edge runs from the consumer's group role to the producer's schema (USAGE) and table
(SELECT on the declared columns, REFERENCES on the declared `references`).

**Anti-pattern**: `Grant(role="notification_service_role", schema="user_schema",
object_type="column", objects=["contact_information"], columns=["phone"],
privileges=["SELECT"])` with no such read in the catalogue.

**Best practice**: change access only by editing `reads:` in catalogue.yaml; the compiler
derives the grants, this rule verifies them.

**Remediation**: declare the read in catalogue.yaml, or remove the grant.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.catalogue import Catalogue
from edulink_policies.grants import CrossGrant, cross_service_grants
from edulink_policies.resources import Resource
from edulink_policies.rule import Context, StackRule, Violation


def check(resources: Sequence[Resource], context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    for cross in cross_service_grants(resources, catalogue):
        for problem in _problems(cross, catalogue):
            yield Violation(
                cross.grant.resource.name,
                f"{cross.grant.describe()}: {problem}",
                urn=cross.grant.resource.urn,
            )


def _problems(cross: CrossGrant, catalogue: Catalogue) -> Iterator[str]:
    grant, consumer, producer = cross.grant, cross.consumer, cross.producer
    if grant.role != consumer.group_role:
        yield (
            f"goes to {grant.role}; a cross-service edge runs from the consumer's group role "
            f"{consumer.group_role}"
        )
    if grant.object_type == "schema":
        if not any(read.producer == producer.name for read in consumer.reads):
            yield f"service {consumer.name} declares no read of service {producer.name}"
        extra = [p for p in grant.privileges if p != "USAGE"]
        if extra:
            yield f"{', '.join(extra)} on a schema is part of no declared read"
        return
    if grant.object_type not in ("table", "column"):
        yield f"{grant.object_type or 'untyped'} grants are part of no declared read"
        return
    if not grant.objects:
        yield "every table of the schema is part of no declared read"
    for table in grant.objects:
        read = catalogue.read(consumer.name, producer.name, table)
        if read is None:
            yield f"service {consumer.name} declares no read of {producer.schema}.{table}"
            continue
        undeclared = [p for p in grant.privileges if p not in ("SELECT", "REFERENCES")]
        if undeclared:
            privileges = ", ".join(undeclared)
            yield f"{privileges} on {producer.schema}.{table} is part of no declared read"
        for privilege in grant.privileges:
            if privilege == "SELECT":
                declared = read.columns
            elif privilege == "REFERENCES":
                if not read.references:
                    yield f"REFERENCES on {producer.schema}.{table} is not declared"
                    continue
                declared = read.references
            else:
                continue
            if declared is None:
                continue
            if grant.object_type == "table":
                yield (
                    f"{privilege} on the whole table {producer.schema}.{table}; declared "
                    f"columns: {', '.join(sorted(declared))}"
                )
            else:
                extra = sorted(set(grant.columns) - declared)
                if extra:
                    yield (
                        f"{privilege} on undeclared column(s) {', '.join(extra)} of "
                        f"{producer.schema}.{table}"
                    )


RULE = StackRule(
    code="ST01",
    name="st01-edges-declared",
    summary="Every cross-service grant (consumer group role -> producer schema/table/columns) "
    "lies inside a read declared in catalogue.yaml.",
    remediation="Declare the read in catalogue.yaml (reads: service, table, columns, "
    "references), or remove the grant.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    config=("catalogue",),
    check=check,
)
