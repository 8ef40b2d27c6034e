"""What a reviewer reads of the prod stack, pinned in golden files (tests/golden/README.md):
the compiled plan, and the SQL that row-level security and the grants run.

A change to the catalogue, the compiler or the SQL shows here as a diff of these files; it
is reviewed like code, after `EDULINK_UPDATE_GOLDEN=1` regenerates them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from edulink_db.project import Project
from edulink_db.rls.statements import create_policy, enable_statements
from tests.golden.golden import assert_golden
from tests.support.program import recorded
from tests.support.replay import grant_statements

GRANT_TYPE = "postgresql:index/grant:Grant"


def _plan_json(project: Project) -> str:
    """The plan as JSON; a migration is its file name and checksum (its SQL is the file)."""
    plan: dict[str, Any] = dataclasses.asdict(project.plan)
    for service in plan["services"]:
        service["migrations"]["steps"] = [
            f"{s['version']:04d}_{s['name']}.sql {s['checksum']}"
            for s in service["migrations"]["steps"]
        ]
    return json.dumps(plan, indent=2) + "\n"


def test_the_compiled_prod_plan_is_pinned(project: Project) -> None:
    assert_golden("plan_prod.json", _plan_json(project))


def test_the_row_level_security_sql_of_prod_is_pinned(project: Project) -> None:
    """What the RLS resources run on a fresh database, service by service in plan order."""
    lines: list[str] = []
    for service in project.plan.services:
        lines.append(f"-- {service.name}")
        for table in service.row_security:
            lines += [f"{s.as_string()};" for s in enable_statements(table)]
        lines += [f"{create_policy(p).as_string()};" for p in service.policies]
    assert_golden("rls_prod.sql", "\n".join(lines) + "\n")


def test_the_grant_sql_of_prod_is_pinned() -> None:
    """The statements the postgresql provider runs for each Grant the program registers
    (revoke, then grant; as tests/support/replay.py runs them), by resource name: the
    program registers them concurrently, in no fixed order."""
    lines: list[str] = []
    for grant in sorted(recorded("prod").of_type(GRANT_TYPE), key=lambda r: r.name):
        inputs = grant.inputs
        lines.append(f"-- {grant.name}")
        statements = grant_statements(
            inputs["role"],
            inputs["objectType"],
            inputs["schema"],
            inputs.get("objects") or [],
            inputs.get("columns") or [],
            sorted(inputs.get("privileges") or []),
        )
        lines += [f"{s.as_string()};" for s in statements]
    assert_golden("grants_prod.sql", "\n".join(lines) + "\n")
