"""pydantic models of catalogue.yaml.

Models check one value at a time (shape, identifiers, defaults); rules that relate several
values (unknown services, columns that do not exist, cycles) live in `checks`, so every
problem is reported together with its position.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edulink_db.identifiers import Identifier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableSpec(_Strict):
    """How a table is classified; the DDL itself lives in the service's migrations."""

    sensitive: bool = Field(
        default=False,
        description="Personal data or credentials: RLS is forced and cross reads name columns.",
    )
    secret_columns: tuple[Identifier, ...] = Field(
        default=(), description="Columns no other service may read, whatever it declares."
    )


class Read(_Strict):
    """A cross-service read, declared by the consumer."""

    service: Identifier
    table: Identifier
    columns: tuple[Identifier, ...] | None = Field(
        default=None, description="Columns to SELECT; omitted means the whole table."
    )
    references: tuple[Identifier, ...] = Field(
        default=(), description="Columns the consumer's foreign keys point at (REFERENCES)."
    )


class Service(_Strict):
    description: str = ""
    schema_name: Identifier | None = Field(default=None, alias="schema")
    group_role: Identifier | None = None
    login_role: Identifier | None = None
    tables: dict[Identifier, TableSpec] = Field(default_factory=dict)
    reads: tuple[Read, ...] = ()


class ResolvedService(_Strict):
    """A service with every default filled in: what the rest of the program works with."""

    name: Identifier
    description: str
    schema_name: Identifier
    group_role: Identifier
    login_role: Identifier
    tables: dict[Identifier, TableSpec]
    reads: tuple[Read, ...]


class Catalogue(_Strict):
    version: int = Field(ge=1, le=1)
    services: dict[Identifier, Service]

    @model_validator(mode="after")
    def _has_services(self) -> Catalogue:
        if not self.services:
            raise ValueError("declares no service")
        return self

    def resolved(self) -> dict[str, ResolvedService]:
        """Services by name, with the naming defaults of the original design applied."""
        return {name: resolve_service(name, spec) for name, spec in self.services.items()}


def resolve_service(name: str, spec: Service) -> ResolvedService:
    return ResolvedService(
        name=name,
        description=spec.description,
        schema_name=spec.schema_name or f"{name}_schema",
        group_role=spec.group_role or f"{name}_service_role",
        login_role=spec.login_role or f"{name}_service",
        tables=spec.tables,
        reads=spec.reads,
    )
