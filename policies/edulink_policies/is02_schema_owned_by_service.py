"""Each service schema is owned by that service's group role.

Why: the owner of a schema may create, alter and drop anything in it and grant it to anyone.
The isolation model rests on `S_schema` belonging to `S_service_role` (so the service's own
Django migrations create objects the group owns) and to nobody else. A schema owned by the
admin or by another service's role hands that role the service's data; a schema the catalogue
does not know is outside every other rule of this pack.

**Anti-pattern**: `postgresql.Schema("auth-schema", name="auth_schema")` without `owner`
(the connecting admin owns it), or `owner="user_service_role"` on `auth_schema`.

**Best practice**: `postgresql.Schema(name=S_schema, owner=S_service_role)`, with both names
taken from catalogue.yaml (the `schema` / `group_role` overrides included).

**Remediation**: set `owner` to the service's group role; declare a new schema as a service
in catalogue.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import SCHEMA, Resource
from edulink_policies.rule import Context, ResourceRule, Violation


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    catalogue = context.catalogue()
    name = resource.text("name") or resource.name
    owner = resource.text("owner")
    service = catalogue.by_schema(name)
    if service is None:
        yield Violation(
            resource.name,
            f"schema {name} is no service's schema in {catalogue.path.name}",
            "declare the service (and its `schema`) in catalogue.yaml, or manage this schema "
            "outside this stack",
        )
    elif owner != service.group_role:
        yield Violation(
            resource.name,
            f"schema {name} is owned by {owner or 'the connecting admin (owner not set)'}, "
            f"not by {service.group_role}, the group role of service {service.name}",
            f"set owner={service.group_role!r}",
        )


RULE = ResourceRule(
    code="IS02",
    name="is02-schema-owned-by-service",
    summary="Each service schema is owned by that service's group role.",
    remediation="Set the schema's owner to the service's group role (catalogue.yaml "
    "`group_role`, default <service>_service_role).",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    config=("catalogue",),
    types=(SCHEMA,),
    check=check,
)
