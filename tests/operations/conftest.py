"""Fixtures of the operations tests: a platform with every service's data moved in, the CLI,
and what a table holds (count and the data move's checksum), for before/after comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer
from psycopg import sql
from typer.testing import CliRunner

from edulink_db.catalogue.load import load_catalogue
from edulink_db.cli.operations import register
from edulink_db.datamove.run import MoveRequest, migrate_service
from edulink_db.datamove.verify import pin_settings, table_checksum_sql
from edulink_db.plan.compile import dependency_order
from tests.datamove.conftest import make_legacy
from tests.datamove.legacy_world import SERVICES, World, build_world
from tests.support.cluster import Cluster
from tests.support.deploy import Deployment, deploy
from tests.support.program import recorded

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue(ROOT)
ORDER = dependency_order(CATALOGUE.services)
SCHEMAS = [CATALOGUE.services[s].schema_name for s in ORDER]


@pytest.fixture(scope="session")
def world() -> World:
    return build_world()


@dataclass(frozen=True)
class Platform:
    deployment: Deployment
    legacy: dict[str, str] = field(repr=False)  # service -> DSN (with a password)

    @property
    def admin_dsn(self) -> str:
        return self.deployment.cluster.admin_dsn(self.deployment.database)

    def superuser(self) -> psycopg.Connection[Any]:
        return self.deployment.superuser()


def moved_platform(cluster: Cluster, world: World) -> Platform:
    """Prod deployed on `cluster`, every service's legacy data moved in, in dependency order."""
    deployment = deploy(cluster, recorded("prod"))
    legacy = {service: make_legacy(cluster, service, world) for service in SERVICES}
    admin = cluster.admin_dsn(deployment.database)
    for service in ORDER:
        migrate_service(
            MoveRequest(root=ROOT, service=service, source=legacy[service], target=admin)
        )
    return Platform(deployment, legacy)


def cli_app() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:
        """edulink-db"""

    register(app)
    return app


def operate(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run one of the operations commands as the CLI does; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli_app(), list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def table_states(conn: psycopg.Connection[Any], schemas: list[str]) -> dict[str, tuple[int, str]]:
    """Every table of `schemas`: its row count and the checksum of all its columns, read as
    the superuser in one snapshot."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        pin_settings(conn)
        tables = conn.execute(
            "SELECT c.table_schema, c.table_name, array_agg(c.column_name::text ORDER BY"
            " c.ordinal_position) FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = ANY(%s) AND t.table_type = 'BASE TABLE'"
            " GROUP BY 1, 2 ORDER BY 1, 2",
            (schemas,),
        ).fetchall()
        found: dict[str, tuple[int, str]] = {}
        for schema, table, columns in tables:
            row = conn.execute(
                table_checksum_sql(sql.Identifier(schema, table), list(columns), False)
            ).fetchone()
            assert row is not None
            found[f"{schema}.{table}"] = (int(row[0]), str(row[1]))
    return found
