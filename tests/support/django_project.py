"""A service's Django project, assembled from tests/django_services and the modules the CLI
generates, and run with `manage.py` in a subprocess as a deployment would run it.

Where it connects is an `Endpoint`: a local PgBouncer (transaction mode, strict or ignoring
`options`; session mode) or the PostgreSQL server itself. The project's settings override
HOST, PORT and USER with it, NAME with the test's database and sslmode with the cluster's
(`require` where the build serves TLS, as the generated settings say; `disable` on pgserver's
16, built without it); every other key is the generated one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from edulink_db.cli.app import app
from tests.support.cluster import Cluster
from tests.support.pgbouncer import pgbouncer

SOURCES = Path(__file__).resolve().parents[1] / "django_services"
DRIVERS = ("psycopg", "psycopg2")


@dataclass(frozen=True)
class EndpointKind:
    """A way to the database: the generated settings' `--pooler`, and how it is stood in for
    locally (None: the server itself)."""

    name: str
    pooler: str
    pool_mode: str | None = None
    ignore_startup_parameters: str = ""


ENDPOINTS = (
    EndpointKind("pgbouncer-transaction", "transaction", "transaction"),
    EndpointKind("pgbouncer-transaction-ignoring-options", "transaction", "transaction", "options"),
    EndpointKind("pgbouncer-session", "session", "session"),
    EndpointKind("direct", "direct"),
)


@dataclass(frozen=True)
class Endpoint:
    kind: EndpointKind
    host: str
    port: int
    sslmode: str


@contextmanager
def open_endpoint(
    kind: EndpointKind, cluster: Cluster, users: Mapping[str, str], pool_size: int = 1
) -> Iterator[Endpoint]:
    """The endpoint, running for the duration of the block."""
    if kind.pool_mode is None:
        yield Endpoint(kind, cluster.host, cluster.port, cluster.sslmode)
        return
    with pgbouncer(
        cluster, users, pool_size, kind.pool_mode, kind.ignore_startup_parameters
    ) as pooler:
        yield Endpoint(kind, pooler.host, pooler.port, cluster.sslmode)


@dataclass(frozen=True)
class DjangoProject:
    service: str
    folder: Path
    login_role: str
    database: str
    password: str = field(repr=False)

    def write_settings(self, root: Path, pooler: str) -> str:
        """Generate the settings module with the CLI, as a service team would."""
        return _cli(
            "django-settings",
            "--root",
            str(root),
            "--service",
            self.service,
            "--stack",
            "prod",
            "--pooler",
            pooler,
            "--output",
            str(self.folder / "edulink_db_settings.py"),
        )

    def environment(self, endpoint: Endpoint, driver: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
        return env | {
            "PYTHONPATH": str(self.folder),
            "EDULINK_SERVICE": self.service,
            "EDULINK_HOST": endpoint.host,
            "EDULINK_PORT": str(endpoint.port),
            "EDULINK_USER": self.login_role,
            "EDULINK_DBNAME": self.database,
            "EDULINK_SSLMODE": endpoint.sslmode,
            "EDULINK_DRIVER": driver,
            f"{self.service.upper()}_DB_PASSWORD": self.password,
        }

    def manage(
        self, *args: str, endpoint: Endpoint, driver: str, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.folder,
            env=self.environment(endpoint, driver),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, endpoint: Endpoint, driver: str) -> subprocess.Popen[str]:
        """`manage.py` in the background, for services running at once."""
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=self.folder,
            env=self.environment(endpoint, driver),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def scenario(self, name: str, *args: str, endpoint: Endpoint, driver: str) -> dict[str, Any]:
        result = self.manage("edulink_scenario", name, *args, endpoint=endpoint, driver=driver)
        return scenario_output(result.returncode, result.stdout, result.stderr, name)


def scenario_output(code: int | None, stdout: str, stderr: str, name: str) -> dict[str, Any]:
    """The scenario's JSON line; a failed run raises with the end of its traceback."""
    if code != 0:
        raise AssertionError(f"scenario {name} exited with {code}:\n{stderr[-3000:]}")
    parsed: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return parsed


def build_project(
    folder: Path, root: Path, service: str, login_role: str, password: str, database: str
) -> DjangoProject:
    """Copy the service's project and write its read models with the CLI."""
    folder.mkdir(parents=True)
    shutil.copy(SOURCES / "manage.py", folder)
    for package in ("project", f"{service}_app"):
        shutil.copytree(SOURCES / package, folder / package)
    (folder / "edulink_reads").mkdir()
    (folder / "edulink_reads" / "__init__.py").write_text("")
    _cli(
        "django-models",
        "--root",
        str(root),
        "--service",
        service,
        "--output",
        str(folder / "edulink_reads" / "models.py"),
    )
    return DjangoProject(service, folder, login_role, database, password)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        raise AssertionError(f"edulink-db {args[0]} exited {result.exit_code}: {result.stderr}")
    return result.stdout
