"""Grants and default privileges as the rules read them, and which of them cross services."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from edulink_policies.catalogue import Catalogue, Service
from edulink_policies.resources import DEFAULT_PRIVILEGES, GRANT, Resource, privileges


@dataclass(frozen=True)
class GrantView:
    """A `Grant` or a `DefaultPrivileges`, normalised (privileges upper-case, type lower)."""

    resource: Resource
    default: bool  # DefaultPrivileges: applies to objects created later
    role: str | None
    schema: str | None
    object_type: str
    objects: tuple[str, ...]
    columns: tuple[str, ...]
    privileges: tuple[str, ...]
    owner: str | None  # DefaultPrivileges only: whose future objects

    @property
    def column_scoped(self) -> bool:
        return self.object_type == "column" and bool(self.columns)

    def describe(self) -> str:
        privs = ", ".join(self.privileges) or "nothing"
        to = f"to {self.role or '(no role)'}"
        if self.default:
            where = f"in schema {self.schema}" if self.schema else "in every schema"
            return f"default {privs} on future {self.object_type}s of {self.owner} {where} {to}"
        if self.object_type == "schema":
            return f"{privs} on schema {self.schema} {to}"
        if self.object_type in ("table", "column"):
            if not self.objects:
                return f"{privs} on ALL TABLES IN SCHEMA {self.schema} {to}"
            cols = f" ({', '.join(self.columns)})" if self.object_type == "column" else ""
            tables = ", ".join(f"{self.schema}.{o}" for o in self.objects)
            return f"{privs}{cols} on {tables} {to}"
        target = ", ".join(self.objects) or "all"
        where = f" in schema {self.schema}" if self.schema else ""
        return f"{privs} on {self.object_type} {target}{where} {to}"


def grant_view(resource: Resource) -> GrantView:
    default = resource.type in DEFAULT_PRIVILEGES
    return GrantView(
        resource=resource,
        default=default,
        role=resource.text("role"),
        schema=resource.text("schema"),
        object_type=(resource.text("objectType") or "").lower(),
        objects=tuple(resource.strings("objects")),
        columns=tuple(resource.strings("columns")),
        privileges=tuple(privileges(resource.props)),
        owner=resource.text("owner") if default else None,
    )


@dataclass(frozen=True)
class CrossGrant:
    """A `Grant` that gives a role of `consumer` something in `producer`'s schema."""

    grant: GrantView
    consumer: Service
    producer: Service


def cross_service_grants(
    resources: Iterable[Resource], catalogue: Catalogue
) -> Iterator[CrossGrant]:
    for resource in resources:
        if resource.type != GRANT:
            continue
        grant = grant_view(resource)
        consumer = catalogue.by_role(grant.role)
        producer = catalogue.by_schema(grant.schema)
        if consumer is not None and producer is not None and consumer.name != producer.name:
            yield CrossGrant(grant, consumer, producer)
