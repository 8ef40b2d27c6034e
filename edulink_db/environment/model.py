"""pydantic models of the `edulink-db:` config namespace of a Pulumi stack file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from edulink_db.identifiers import Identifier

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
STRICT_SSL_MODES: frozenset[str] = frozenset({"require", "verify-ca", "verify-full"})


class _Config(BaseModel):
    """Stack config keys are camelCase, like every other Pulumi config key."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Target(_Config):
    """An existing PostgreSQL: a Supabase project, or `supabase start`'s local database."""

    host: str = Field(min_length=1)
    port: int = Field(default=5432, ge=1, le=65535)
    database: Identifier = "postgres"
    admin_user: Identifier = "postgres"
    sslmode: SslMode = "require"


class LocalDatabase(_Config):
    """A database the dev stack starts itself with pulumi-docker (Supabase's image)."""

    image: str = "public.ecr.aws/supabase/postgres:15.8.1.085"
    port: int = Field(default=54322, ge=1, le=65535)
    container_name: str = Field(default="edulink-db-dev", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


class EmbeddedDatabase(_Config):
    """A PostgreSQL the dev stack starts itself from local binaries (`edulink_db.embedded`):
    no Docker. Its data stays under the project's work folder until `pulumi destroy`."""

    port: int = Field(default=54322, ge=1, le=65535)
    major: Literal[15, 16, 17] = 17
    folder: str = Field(default=".edulink/dev-database", pattern=r"^[A-Za-z0-9_./-]+$")


class Pooler(_Config):
    """Supavisor: the same database behind session (5432) and transaction (6543) pooling."""

    host: str = Field(min_length=1)
    tenant: str | None = Field(
        default=None, description="Project ref; shared-pooler user names are <role>.<ref>."
    )
    session_port: int = Field(default=5432, ge=1, le=65535)
    transaction_port: int = Field(default=6543, ge=1, le=65535)


class Limits(_Config):
    """What one service's login role may hold: sized so six services fit the plan's pool."""

    connection_limit: int = Field(default=10, ge=1, le=10_000)
    statement_timeout_ms: int = Field(default=30_000, ge=1)
    idle_in_transaction_session_timeout_ms: int = Field(default=60_000, ge=1)


class LimitsOverride(_Config):
    connection_limit: int | None = Field(default=None, ge=1, le=10_000)
    statement_timeout_ms: int | None = Field(default=None, ge=1)
    idle_in_transaction_session_timeout_ms: int | None = Field(default=None, ge=1)


class StackSettings(_Config):
    target: Target | None = None
    local_database: LocalDatabase | None = None
    embedded_database: EmbeddedDatabase | None = None
    pooler: Pooler | None = None
    disposable: bool = False
    protected: bool = True
    limits: Limits = Limits()
    service_limits: dict[Identifier, LimitsOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> StackSettings:
        problems = []
        targets = (self.target, self.local_database, self.embedded_database)
        if sum(t is not None for t in targets) != 1:
            problems.append("set exactly one of target, embeddedDatabase and localDatabase")
        if self.disposable and self.protected:
            problems.append("a stack cannot be both disposable and protected")
        if self.local_database is not None and not self.disposable:
            problems.append("localDatabase is for disposable stacks only")
        if self.embedded_database is not None and not self.disposable:
            problems.append("embeddedDatabase is for disposable stacks only")
        if (
            self.protected
            and self.target is not None
            and self.target.sslmode not in STRICT_SSL_MODES
        ):
            problems.append(
                "a protected stack needs target.sslmode require or stricter, "
                f"not {self.target.sslmode}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def limits_for(self, service: str) -> Limits:
        override = self.service_limits.get(service)
        if override is None:
            return self.limits
        changes = override.model_dump(exclude_none=True)
        return self.limits.model_copy(update=changes)

    @property
    def admin_user(self) -> str:
        return self.target.admin_user if self.target else "postgres"

    @property
    def database(self) -> str:
        return self.target.database if self.target else "postgres"
