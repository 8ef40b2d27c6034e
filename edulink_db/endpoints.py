"""How a service reaches its schema: direct, Supavisor session and transaction pooling.

Pure functions of the stack settings, the role and its password, so the stack outputs and
the CLI print the same strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from edulink_db.environment.model import StackSettings


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str
    sslmode: str


def endpoints(settings: StackSettings, login_role: str) -> dict[str, Endpoint]:
    """`direct`, `session` and `transaction`; without a pooler (a local dev database) the
    pooled entries fall back to the direct connection, which is what a local run has."""
    if settings.target is not None:
        direct = Endpoint(
            settings.target.host, settings.target.port, login_role, settings.target.sslmode
        )
    else:
        local = settings.embedded_database or settings.local_database
        assert local is not None
        direct = Endpoint("localhost", local.port, login_role, "disable")
    pooler = settings.pooler
    if pooler is None:
        return {"direct": direct, "session": direct, "transaction": direct}
    user = f"{login_role}.{pooler.tenant}" if pooler.tenant else login_role
    return {
        "direct": direct,
        "session": Endpoint(pooler.host, pooler.session_port, user, direct.sslmode),
        "transaction": Endpoint(pooler.host, pooler.transaction_port, user, direct.sslmode),
    }


def connection_url(endpoint: Endpoint, password: str, database: str) -> str:
    """A libpq URL; the password is percent-encoded so any generated character is safe."""
    return (
        f"postgresql://{quote(endpoint.user, safe='')}:{quote(password, safe='')}"
        f"@{endpoint.host}:{endpoint.port}/{quote(database, safe='')}?sslmode={endpoint.sslmode}"
    )
