"""Which services an inspection covers, and what the plan says of each: the figures the
live database is measured against (its login's planned connection limit and timeouts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from edulink_db.errors import UserError
from edulink_db.plan.model import AccessPlan, ServicePlan


@dataclass(frozen=True)
class ServiceTarget:
    name: str
    schema: str
    group: str
    login: str
    search_path: tuple[str, ...]
    connection_limit: int  # planned; -1 none
    statement_timeout_ms: int | None  # planned
    idle_in_transaction_timeout_ms: int | None  # planned

    @classmethod
    def from_plan(cls, service: ServicePlan) -> ServiceTarget:
        login = service.login
        return cls(
            name=service.name,
            schema=service.schema.name,
            group=service.group.name,
            login=login.name,
            search_path=login.search_path,
            connection_limit=login.connection_limit,
            statement_timeout_ms=login.statement_timeout_ms,
            idle_in_transaction_timeout_ms=login.idle_in_transaction_session_timeout_ms,
        )


@dataclass(frozen=True)
class Scope:
    services: tuple[ServiceTarget, ...]

    @cached_property
    def by_schema(self) -> dict[str, ServiceTarget]:
        return {s.schema: s for s in self.services}

    @cached_property
    def by_login(self) -> dict[str, ServiceTarget]:
        return {s.login: s for s in self.services}

    @cached_property
    def by_role(self) -> dict[str, ServiceTarget]:
        """Login and group role: statements are recorded under the role that ran them, and a
        login acts as its group (`ALTER ROLE ... SET role`)."""
        return {**{s.group: s for s in self.services}, **self.by_login}

    @property
    def schemas(self) -> list[str]:
        return [s.schema for s in self.services]

    @property
    def logins(self) -> list[str]:
        return [s.login for s in self.services]

    @property
    def roles(self) -> list[str]:
        return list(self.by_role)


def scope_of(plan: AccessPlan, only: Sequence[str] = ()) -> Scope:
    """Every service of the plan, or `only` these; an unknown name is refused, with the
    known ones."""
    known = {s.name: s for s in plan.services}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise UserError(f"unknown service {unknown[0]!r}; known: {', '.join(sorted(known))}")
    chosen = [known[name] for name in only] if only else list(plan.services)
    return Scope(tuple(ServiceTarget.from_plan(s) for s in chosen))
