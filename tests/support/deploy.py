"""Deploy a recorded program onto a fresh database of a test cluster, and look at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from tests.support.cluster import ADMIN_PASSWORD, ADMIN_ROLE, Cluster
from tests.support.program import Recording
from tests.support.replay import Replay, replay


@dataclass(frozen=True)
class Deployment:
    cluster: Cluster
    database: str
    recording: Recording = field(repr=False)  # holds the generated passwords
    log: Replay = field(repr=False)

    def login_password(self, service: str) -> str:
        return str(self.recording.by_name(f"{service}-login-role").inputs["password"])

    def login_dsn(self, service: str, role: str) -> str:
        return self.cluster.dsn(role, self.login_password(service), self.database)

    def superuser(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.cluster.superuser_dsn(self.database), autocommit=True)

    def admin_connection(self) -> dict[str, Any]:
        return admin_connection(self.cluster, self.database)

    def login(self, service: str) -> psycopg.Connection[Any]:
        """A session as the service's login role (which acts as its group)."""
        role = str(self.recording.by_name(f"{service}-login-role").inputs["name"])
        return psycopg.connect(self.login_dsn(service, role), autocommit=True)


def sqlstate_of(
    conn: psycopg.Connection[Any], statement: str, params: tuple[Any, ...] = ()
) -> str | None:
    """None when the statement succeeds, else its SQLSTATE; nothing it did is kept."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement, params)  # type: ignore[arg-type]
        return None
    except psycopg.Error as error:
        return error.sqlstate


def admin_connection(cluster: Cluster, database: str) -> dict[str, Any]:
    """What the dynamic resources connect with: the emulated Supabase `postgres`, over TLS
    (`require`, the protected stacks' own sslmode) wherever the cluster serves it."""
    return {
        "host": cluster.host,
        "port": cluster.port,
        "dbname": database,
        "user": ADMIN_ROLE,
        "password": ADMIN_PASSWORD,
        "sslmode": cluster.sslmode,
    }


def deploy(
    cluster: Cluster, recording: Recording, seed: int | None = None, workers: int = 1
) -> Deployment:
    """Reset the cluster (roles are cluster-wide), create a database and replay onto it."""
    cluster.reset()
    database = cluster.create_database()
    connection = admin_connection(cluster, database)
    log = replay(recording, cluster.admin_dsn(database), connection, seed, workers)
    return Deployment(cluster, database, recording, log)
