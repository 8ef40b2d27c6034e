"""Fixtures of the data-move tests: the legacy world, legacy databases, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edulink_db.cli.migrate_data import register
from tests.datamove.legacy_world import World, build_world, load_legacy
from tests.support.cluster import Cluster
from tests.support.deploy import Deployment

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def world() -> World:
    return build_world()


def make_legacy(cluster: Cluster, service: str, world: World) -> str:
    """A legacy database of `service`, filled from `world`; returns a DSN to it."""
    database = cluster.create_database()
    dsn = cluster.superuser_dsn(database)
    load_legacy(dsn, service, world)
    return dsn


def target_dsn(deployment: Deployment) -> str:
    """The platform admin (Supabase's `postgres`), as an operator would connect."""
    return deployment.cluster.admin_dsn(deployment.database)


def cli_app() -> typer.Typer:
    """An app shaped like edulink-db's (several commands), with migrate-data registered."""
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:
        """edulink-db"""

    register(app)
    return app


def migrate(*args: str, root: Path = ROOT) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli_app(), ["migrate-data", "--root", str(root), "--no-progress", *args]
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def move(
    service: str,
    source: str,
    deployment: Deployment,
    *args: str,
    root: Path = ROOT,
    target: str | None = None,
) -> tuple[int, str, str]:
    """Run the CLI; the target is the deployment's admin, directly unless `target` says how."""
    return migrate(
        "--service",
        service,
        "--source",
        source,
        "--target",
        target or target_dsn(deployment),
        *args,
        root=root,
    )


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """A copy of legacy/ that a test may edit."""
    folder = tmp_path / "legacy"
    shutil.copytree(ROOT / "legacy", folder)
    return folder
