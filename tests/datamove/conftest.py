"""Fixtures of the data-move tests: the legacy world, legacy databases, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from edulink_db.cli.migrate_data import register
from tests.datamove.legacy_world import World, build_world, load_legacy
from tests.support.cluster import Cluster
from tests.support.deploy import Deployment

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT_S = 120


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


@contextmanager
def running(service: str, source: str, target: str) -> Iterator[subprocess.Popen[str]]:
    """The CLI in a subprocess, DSNs passed through the environment as an operator would;
    killed on exit if it still runs."""
    env = {**os.environ, "EDULINK_LEGACY_DSN": source, "EDULINK_TARGET_DSN": target}
    command = [sys.executable, "-m", "edulink_db.cli.migrate_data", "--service", service]
    process = subprocess.Popen(
        [*command, "--root", str(ROOT), "--no-progress"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PROCESS_TIMEOUT_S)


def wait_for(deployment: Deployment, query: str, params: tuple[Any, ...] = ()) -> Any:
    """Poll `query` as the superuser until its first column is not NULL; return it."""
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    with deployment.superuser() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
            if row is not None and row[0] is not None:
                return row[0]
            time.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {query}")


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """A copy of legacy/ that a test may edit."""
    folder = tmp_path / "legacy"
    shutil.copytree(ROOT / "legacy", folder)
    return folder
