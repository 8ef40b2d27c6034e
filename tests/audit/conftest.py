"""Fixtures of the audit tests: the audit as the CLI runs it (through `run_audit`, over TCP,
as the emulated Supabase `postgres`), of the prod stack that tests/conftest.py replays once
per module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edulink_db.audit.report import AuditReport
from edulink_db.audit.run import run_audit
from edulink_db.project import Project, load_project
from tests.support.deploy import Deployment
from tests.support.program import stack_config, with_admin_password

Audit = Callable[..., AuditReport]


@pytest.fixture(scope="module")
def project(project_root: Path) -> Project:
    config, secret = with_admin_password(stack_config("prod"))
    return load_project(project_root, "prod", config, secret)


@pytest.fixture
def audit(prod: Deployment, project: Project) -> Audit:
    """Audit the replayed prod database against the prod plan; `dsn` picks another login."""

    def run(dsn: str | None = None) -> AuditReport:
        conninfo = dsn or prod.cluster.admin_dsn(prod.database)
        return run_audit(conninfo, project.plan, project.catalogue.shapes)

    return run
