"""Whole-stack views the stack rules share: deployed services, RLS tables and policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edulink_policies.catalogue import Catalogue, Service
from edulink_policies.resources import (
    ROW_LEVEL_SECURITY,
    SCHEMA,
    Resource,
    UnexpectedValue,
    of_type,
    strings,
    text,
)

QualifiedTable = tuple[str, str]


def deployed_services(resources: Sequence[Resource], catalogue: Catalogue) -> list[Service]:
    """Catalogue services whose schema this stack registers."""
    schemas = {r.text("name") or r.name for r in of_type(resources, SCHEMA)}
    return [s for s in catalogue.services.values() if s.schema in schemas]


def blame(resources: Sequence[Resource], service: Service) -> str | None:
    """The URN a finding about a service points at: its RLS resource, else its schema."""
    for resource in of_type(resources, ROW_LEVEL_SECURITY):
        if resource.text("service") == service.name:
            return resource.urn
    for resource in of_type(resources, SCHEMA):
        if (resource.text("name") or resource.name) == service.schema:
            return resource.urn
    return None


def rls_tables(resources: Sequence[Resource]) -> dict[QualifiedTable, Resource]:
    """Every table some RowLevelSecurity resource enables and forces RLS on."""
    tables: dict[QualifiedTable, Resource] = {}
    for resource in of_type(resources, ROW_LEVEL_SECURITY):
        for entry in resource.records("tables"):
            tables.setdefault(_qualified(entry), resource)
    return tables


@dataclass(frozen=True)
class RowPolicy:
    """One entry of a RowLevelSecurity resource's `policies`."""

    resource: Resource
    schema: str
    table: str
    name: str
    command: str
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None

    @property
    def label(self) -> str:
        return f"policy {self.name} on {self.schema}.{self.table}"


def row_policies(resource: Resource) -> list[RowPolicy]:
    result = []
    for entry in resource.records("policies"):
        schema, table = _qualified(entry)
        permissive = entry.get("permissive", True)
        result.append(
            RowPolicy(
                resource=resource,
                schema=schema,
                table=table,
                name=text(entry, "name") or "(unnamed)",
                command=(text(entry, "command") or "all").lower(),
                permissive=permissive is not False,
                roles=tuple(strings(entry, "roles")),
                using=text(entry, "using"),
                with_check=text(entry, "with_check"),
            )
        )
    return result


def all_row_policies(resources: Sequence[Resource]) -> list[RowPolicy]:
    return [p for r in of_type(resources, ROW_LEVEL_SECURITY) for p in row_policies(r)]


def _qualified(entry: Mapping[str, Any]) -> QualifiedTable:
    schema, table = text(entry, "schema"), text(entry, "table")
    if schema is None or table is None:
        raise UnexpectedValue(f"RLS entry without schema or table: {dict(entry)!r}")
    return schema, table
