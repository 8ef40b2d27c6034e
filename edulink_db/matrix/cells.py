"""The access matrix: for every service and every column of every service table, which
privileges the plan says it has. Built from the plan alone, without a database, so the same
table is what a reviewer diffs in a pull request and what the conformance probes check.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from edulink_db.migrations.ddl import SchemaShape
from edulink_db.plan.model import AccessPlan, ServicePlan, WantedPrivilege

COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "REFERENCES")
TABLE_PRIVILEGES = ("DELETE",)
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")


@dataclass(frozen=True)
class Cell:
    """One (service, object, privilege) and whether the plan allows it. `column` is None for
    a table-level privilege and `table` is None for a schema privilege."""

    service: str
    schema: str
    table: str | None
    column: str | None
    privilege: str
    allowed: bool

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.service, self.schema, self.table or "", self.column or "", self.privilege)


def build_matrix(plan: AccessPlan, shapes: Mapping[str, SchemaShape]) -> list[Cell]:
    """Every cell, sorted; owners hold everything on their own schema, consumers exactly their
    grants, and nothing else is allowed."""
    wanted = plan.wanted_acl()
    cells: list[Cell] = []
    for service in plan.services:
        held = [w for w in wanted if w.grantee == service.group.name]
        for owner in plan.services:
            shape = shapes[owner.name]
            cells.extend(_cells(service, owner, shape, held))
    return sorted(cells, key=Cell.sort_key)


def _cells(
    service: ServicePlan, owner: ServicePlan, shape: SchemaShape, held: list[WantedPrivilege]
) -> Iterator[Cell]:
    schema = owner.schema.name
    own = service.name == owner.name
    granted: set[tuple[str | None, str | None, str]] = set()
    for wanted in held:
        if wanted.schema != schema:
            continue
        if wanted.table is None:
            granted.add((None, None, wanted.privilege))
        else:
            columns = wanted.columns or shape.tables[wanted.table].columns
            granted.update((wanted.table, c, wanted.privilege) for c in columns)
    for privilege in SCHEMA_PRIVILEGES:
        yield Cell(
            service.name, schema, None, None, privilege, own or (None, None, privilege) in granted
        )
    for table in shape.tables.values():
        for privilege in TABLE_PRIVILEGES:
            yield Cell(service.name, schema, table.name, None, privilege, own)
        for column in table.columns:
            for privilege in COLUMN_PRIVILEGES:
                allowed = own or (table.name, column, privilege) in granted
                yield Cell(service.name, schema, table.name, column, privilege, allowed)
