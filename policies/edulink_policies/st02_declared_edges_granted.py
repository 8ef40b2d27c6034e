"""Every read the catalogue declares has its grants (and, on an RLS table, its policy).

Why: the other half of "the grants equal the catalogue" (ST01 is the first). A declared read
without USAGE on the producer's schema fails with "permission denied for schema" (seed
defect 2); without REFERENCES the consumer's foreign-key migration fails (defect 3); without
a SELECT policy on a table with forced RLS the reader sees 0 rows, silently. None of that
leaks data, so the rule is advisory: it tells the reviewer that a declared edge does not
work yet.

Checked for reads whose consumer and producer schemas both are registered in the stack.

**Anti-pattern**: `reads: [{service: auth, table: users, columns: [id, email]}]` on the user
service with no `USAGE` on auth_schema for user_service_role.

**Best practice**: let the compiler emit USAGE, column-scoped SELECT, REFERENCES and the
reader's policy from the one declaration.

**Remediation**: add the missing grant or policy (normally: rerun the compiler), or remove
the read from catalogue.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.catalogue import Read
from edulink_policies.grants import cross_service_grants
from edulink_policies.resources import Resource
from edulink_policies.rule import Context, StackRule, Violation
from edulink_policies.stack import all_row_policies, blame, deployed_services, rls_tables

ALL_COLUMNS = None
Key = tuple[str, str, str]  # consumer group role, schema, table


def check(resources: Sequence[Resource], context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    usage: set[tuple[str, str]] = set()
    granted: dict[str, dict[Key, set[str] | None]] = {"SELECT": {}, "REFERENCES": {}}
    for cross in cross_service_grants(resources, catalogue):
        grant = cross.grant
        assert grant.role is not None and grant.schema is not None
        if grant.object_type == "schema" and "USAGE" in grant.privileges:
            usage.add((grant.role, grant.schema))
        if grant.object_type not in ("table", "column"):
            continue
        for privilege in set(grant.privileges) & set(granted):
            for table in grant.objects:
                key = (grant.role, grant.schema, table)
                have = granted[privilege].get(key, set())
                if grant.object_type == "table" or have is ALL_COLUMNS:
                    granted[privilege][key] = ALL_COLUMNS
                else:
                    granted[privilege][key] = have | set(grant.columns)
    covered = rls_tables(resources)
    readable = {
        (p.schema, p.table, role)
        for p in all_row_policies(resources)
        if p.permissive and p.command in ("select", "all")
        for role in p.roles
    }
    deployed = {s.name: s for s in deployed_services(resources, catalogue)}
    for read in catalogue.reads():
        consumer, producer = deployed.get(read.consumer), deployed.get(read.producer)
        if consumer is None or producer is None:
            continue
        role, schema = consumer.group_role, producer.schema
        missing = []
        if (role, schema) not in usage:
            missing.append(f"USAGE on schema {schema}")
        key = (role, schema, read.table)
        missing += _missing("SELECT", read.columns, granted["SELECT"], key)
        if read.references:
            missing += _missing("REFERENCES", read.references, granted["REFERENCES"], key)
        if (schema, read.table) in covered and (schema, read.table, role) not in readable:
            missing.append(f"a SELECT policy for {role} (RLS is forced: it sees 0 rows)")
        if missing:
            yield Violation(
                _label(read, schema),
                f"is declared but lacks {'; '.join(missing)}",
                urn=blame(resources, consumer),
            )


def _missing(
    privilege: str,
    declared: frozenset[str] | None,
    granted: dict[Key, set[str] | None],
    key: Key,
) -> list[str]:
    if key not in granted:
        return [f"{privilege} on {key[1]}.{key[2]}"]
    have = granted[key]
    if have is ALL_COLUMNS:
        return []
    if declared is None:
        return [f"{privilege} on the whole table {key[1]}.{key[2]}"]
    lacking = sorted(declared - have)
    return [f"{privilege} on column(s) {', '.join(lacking)}"] if lacking else []


def _label(read: Read, schema: str) -> str:
    return f"read {read.consumer} -> {schema}.{read.table}"


RULE = StackRule(
    code="ST02",
    name="st02-declared-edges-granted",
    summary="Every read declared in catalogue.yaml has its USAGE, SELECT and REFERENCES grants "
    "and, on a table with RLS, a SELECT policy for the reader.",
    remediation="Add the missing grant or policy (normally by recompiling), or remove the read "
    "from catalogue.yaml.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    doc=__doc__ or "",
    config=("catalogue",),
    check=check,
)
