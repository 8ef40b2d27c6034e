"""How the platform's own code reaches PostgreSQL: one settings shape, pooler-safe sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo


@dataclass(frozen=True)
class ConnectionSettings:
    """Admin connection details. `__repr__` hides the password so it never reaches a log."""

    host: str
    port: int
    dbname: str
    user: str
    password: str
    sslmode: str = "require"
    connect_timeout: int = 10

    def __repr__(self) -> str:
        return (
            f"ConnectionSettings(host={self.host!r}, port={self.port}, dbname={self.dbname!r}, "
            f"user={self.user!r}, password='***', sslmode={self.sslmode!r})"
        )

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ConnectionSettings:
        return cls(
            host=str(values["host"]),
            port=int(values["port"]),
            dbname=str(values["dbname"]),
            user=str(values["user"]),
            password=str(values["password"]),
            sslmode=str(values.get("sslmode", "require")),
        )

    def conninfo(self) -> str:
        return make_conninfo(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password,
            sslmode=self.sslmode,
            connect_timeout=self.connect_timeout,
            application_name="edulink-db",
        )


def connect(settings: ConnectionSettings) -> psycopg.Connection[Any]:
    """A connection that assumes nothing survives between transactions.

    Supabase's transaction pooler hands each transaction to any server session, so the
    platform never relies on session state: no prepared statements, only SET LOCAL, and
    transaction-scoped advisory locks.
    """
    return psycopg.connect(settings.conninfo(), prepare_threshold=None)
