"""The real program, replayed onto a real PostgreSQL that emulates Supabase, then probed as
every service: what must work works, and what must fail fails with 42501."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from edulink_db.catalogue.load import load_catalogue
from edulink_db.matrix import build_matrix
from edulink_db.plan.compile import compile_plan
from edulink_db.project import load_project
from tests.conftest import recorded
from tests.support.report import PROBE_COUNTS
from tests.support.cluster import Cluster
from tests.support.deploy import Deployment, deploy
from tests.support.probes import ProbeReport, column_info, probe_service
from tests.support.program import stack_config, with_admin_password

pytestmark = pytest.mark.database


@pytest.fixture(scope="module")
def prod(pg_cluster: Cluster) -> Deployment:
    return deploy(pg_cluster, recorded("prod"))


def prod_project(root: Path):
    config, secret = with_admin_password(stack_config("prod"))
    return load_project(root, "prod", config, secret)


def test_every_matrix_cell_behaves_as_planned(prod: Deployment, project_root: Path) -> None:
    project = prod_project(project_root)
    cells = build_matrix(project.plan, project.catalogue.shapes)
    schemas = [s.schema.name for s in project.plan.services]
    with prod.superuser() as conn:
        columns = column_info(conn, schemas)
    report = ProbeReport()
    for service in project.plan.services:
        own = [c for c in cells if c.service == service.name]
        probe_service(prod.login_dsn(service.name, service.login.name), service.schema.name, own, columns, report)
    assert report.mismatches == []
    counts = report.count()
    assert counts["allowed"] > 0 and counts["denied"] > 0
    assert sum(counts.values()) == len(cells)
    PROBE_COUNTS[f"PostgreSQL {prod.cluster.major}"] = counts
