"""One empty service on a test database, as the platform leaves it before its first migration:
a group role owning its schema, the admin a member. For the migration runner's and its
provider's tests, which need a service without the whole prod deploy."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from components.migrations import MigrationsProvider, file_list
from edulink_db.connection import ConnectionSettings
from edulink_db.migrations.files import Step
from tests.support.cluster import Cluster
from tests.support.deploy import admin_connection
from tests.support.provider_host import HostedProvider, hosted

SERVICE, SCHEMA, ROLE = "svc", "svc_schema", "svc_role"


def create(cluster: Cluster, database: str) -> ConnectionSettings:
    """Create the service in `database`; the admin's connection settings."""
    with psycopg.connect(cluster.superuser_dsn(database), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ROLE} NOLOGIN")
        conn.execute(f"GRANT {ROLE} TO postgres")
        conn.execute(f"CREATE SCHEMA {SCHEMA} AUTHORIZATION {ROLE}")
    return ConnectionSettings.from_mapping(admin_connection(cluster, database))


def step(version: int, sql: str, name: str | None = None) -> Step:
    """Migration file NNNN_<name>.sql (name defaults to step<version>)."""
    return Step(version, name or f"step{version}", hashlib.sha256(sql.encode()).hexdigest(), sql)


def provider_props(
    admin: ConnectionSettings, steps: list[Step], disposable: bool
) -> dict[str, Any]:
    """The inputs the ServiceMigrations resource gives its provider."""
    return {
        "service": SERVICE,
        "schema": SCHEMA,
        "role": ROLE,
        "steps": [s.__dict__ for s in steps],
        "files": file_list(steps),
        "disposable": disposable,
        "connection": dict(admin.__dict__),
    }


def migrations_provider() -> HostedProvider:
    """The migrations provider, reached through a provider host as the engine reaches it."""
    return hosted(MigrationsProvider(), f"{SERVICE}-migrations")
