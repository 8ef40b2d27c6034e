"""The shape of an audit rule: a permanent code, a dotted name, a level, and one method.

The docstring is the documentation: its first paragraph is the summary users see, then why the
rule exists, **Anti-pattern**, **Best practice** and **Remediation**. Renderers (SARIF) read
it from here, so there is one text per rule.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator
from typing import ClassVar

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import schema_object
from edulink_db.finding import Finding, Level, NotEvaluated
from edulink_db.migrations.ddl import SchemaShape
from edulink_db.plan.model import ServicePlan

Outcome = Finding | NotEvaluated


class Rule(ABC):
    code: ClassVar[str]
    name: ClassVar[str]
    level: ClassVar[Level]

    @abstractmethod
    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        """Yield a Finding per problem, and a NotEvaluated for what could not be looked at."""

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(self.documentation.split("\n\n", 1)[0].split())

    @property
    def documentation(self) -> str:
        return inspect.cleandoc(type(self).__doc__ or self.name)

    def finding(self, object: str, message: str, remediation: str) -> Finding:
        return Finding(self.code, self.level, object, message, remediation)

    def not_evaluated(self, object: str, reason: str) -> NotEvaluated:
        return NotEvaluated(self.code, object, reason)

    def shaped(
        self, ctx: AuditContext, services: Iterable[ServicePlan]
    ) -> Generator[NotEvaluated, None, list[tuple[ServicePlan, SchemaShape]]]:
        """Each service with the tables its migrations create. A service whose shape the
        audit was not given is yielded as "not evaluated"; the pairs are the return value:
        `shaped = yield from self.shaped(ctx, services)`."""
        pairs = []
        for service in services:
            shape = ctx.shapes.get(service.name)
            if shape is None:
                yield self.not_evaluated(
                    schema_object(service.schema.name),
                    f"no table list was given for service {service.name} (its migrations' shape)",
                )
            else:
                pairs.append((service, shape))
        return pairs
