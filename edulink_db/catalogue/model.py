"""pydantic models of catalogue.yaml.

Models check one value at a time (shape, identifiers, defaults); rules that relate several
values (unknown services, columns that do not exist, cycles) live in `checks`, so every
problem is reported together with its position.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edulink_db.identifiers import Identifier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PolicyCommand = Literal["all", "select", "insert", "update", "delete"]


class PolicySpec(_Strict):
    """A row-level security policy beyond the generated owner and reader policies.

    `roles` names services (their group roles); a policy for PUBLIC cannot be written.
    Expressions are parsed before anything runs and emitted from the parse tree.
    """

    name: Identifier
    command: PolicyCommand = "all"
    roles: tuple[Identifier, ...] = Field(min_length=1)
    restrictive: bool = False
    using: str | None = None
    with_check: str | None = None


class TableSpec(_Strict):
    """How a table is classified; the DDL itself lives in the service's migrations."""

    sensitive: bool = Field(
        default=False,
        description="Personal data or credentials: RLS is forced and cross reads name columns.",
    )
    rls: bool | None = Field(
        default=None, description="Row-level security, enabled and forced; defaults to sensitive."
    )
    secret_columns: tuple[Identifier, ...] = Field(
        default=(), description="Columns no other service may read, whatever it declares."
    )
    policies: tuple[PolicySpec, ...] = ()

    @property
    def row_level_security(self) -> bool:
        return self.sensitive if self.rls is None else self.rls


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
    row_filter: str | None = Field(
        default=None,
        description="Rows the consumer may see of a table with RLS, e.g. `deleted_at IS NULL`.",
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
    # Derived names are plain strings: checks.check_names reports an invalid one with its
    # position and the fix (set it explicitly), which a validation error here would hide.
    schema_name: str
    group_role: str
    login_role: str
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
