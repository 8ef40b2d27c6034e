"""The Django `DATABASES` entry a service connects with, and the settings module around it.

Every key is read by Django or by the driver on the client. Nothing in it becomes a
startup parameter a pooler could refuse or drop: the session settings a service needs
(search_path, role, timeouts) are pinned on its login role (`ALTER ROLE ... SET`), which
PostgreSQL applies when any pooler logs in as that role. The same entry works with
psycopg 3 and psycopg2, directly and through Supavisor or PgBouncer in either mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edulink_db.django.python_source import INDENT, bullet, comment, string
from edulink_db.endpoints import Endpoint, endpoints
from edulink_db.environment.model import StackSettings
from edulink_db.errors import UserError
from edulink_db.plan.model import RolePlan


class Pooler(StrEnum):
    transaction = "transaction"
    session = "session"
    direct = "direct"


def django_database(endpoint: Endpoint, password: str, database: str) -> dict[str, Any]:
    """The entry; `render_settings_module` prints it with the reason for each key.

    Left out on purpose: OPTIONS["options"] (PgBouncer refuses the startup parameter,
    Supavisor keeps only a search_path from it; the role pins what it carried) and
    OPTIONS["prepare_threshold"] (a psycopg 3 option Django already sets to None;
    psycopg2 refuses it unless it is None).
    """
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": endpoint.user,
        "PASSWORD": password,
        "HOST": endpoint.host,
        "PORT": str(endpoint.port),
        "CONN_MAX_AGE": 0,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {"sslmode": endpoint.sslmode},
    }


def select_endpoint(
    settings: StackSettings, stack: str, login_role: str, pooler: Pooler | None
) -> tuple[Pooler, Endpoint]:
    """The endpoint asked for; by default the transaction pooler, or the database itself on
    a stack without a pooler. Asking a stack without one for a pooler is an error, not a
    silent direct connection: code written for pooling would then go untested."""
    chosen = pooler or (Pooler.transaction if settings.pooler else Pooler.direct)
    if chosen is not Pooler.direct and settings.pooler is None:
        raise UserError(
            f"the {stack} stack has no pooler (edulink-db:pooler is not set in "
            f"Pulumi.{stack}.yaml), so there is no {chosen.value} pooler to connect "
            "through; its services connect directly: use --pooler direct"
        )
    return chosen, endpoints(settings, login_role)[chosen.value]


@dataclass(frozen=True)
class SettingsModule:
    """What the module says: whose entry it is, how it connects, what the role pins."""

    service: str
    stack: str
    pooler: Pooler
    endpoint: Endpoint
    database: str
    login: RolePlan
    password_variable: str


def password_variable(service: str) -> str:
    return f"{service.upper()}_DB_PASSWORD"


def render_settings_module(module: SettingsModule) -> str:
    """A settings module: readable, one key a line, each reason in a comment above it."""
    entry = django_database(module.endpoint, "", module.database)
    body = _entry_lines(entry, module, INDENT * 2, "")
    lines = [*_header(module), "", "import os", "", "DATABASES = {", f'{INDENT}"default": {{']
    return "\n".join([*lines, *body, f"{INDENT}}},", "}"]) + "\n"


def _entry_lines(
    entry: dict[str, Any], module: SettingsModule, indent: str, path: str
) -> list[str]:
    """`"KEY": value,` lines, nested dicts opened and closed, each under its reason."""
    lines: list[str] = []
    for key, value in entry.items():
        lines += comment(_reason(path + key, module), indent)
        if isinstance(value, dict):
            lines.append(f"{indent}{string(key)}: {{")
            lines += _entry_lines(value, module, indent + INDENT, f"{path}{key}.")
            lines.append(f"{indent}}},")
        elif path + key == "PASSWORD":
            lines.append(f'{indent}"PASSWORD": os.environ[{string(module.password_variable)}],')
        else:
            lines.append(f"{indent}{string(key)}: {_literal(value)},")
    return lines


def _literal(value: object) -> str:
    if isinstance(value, str):
        return string(value)
    return repr(value)


_VIA = {
    Pooler.transaction: "Supavisor's transaction pooler: each transaction may run on another "
    "server connection, so nothing may depend on session state.",
    Pooler.session: "Supavisor's session pooler: one server connection for the whole client "
    "session.",
    Pooler.direct: "the database itself.",
}

_SSLMODE = (
    "libpq's TLS mode, read by the driver and never sent to the server. Supabase accepts "
    "unencrypted connections unless SSL enforcement is on; require at least, verify-full "
    "with Supabase's CA certificate (sslrootcert) where it is installed."
)


def _header(module: SettingsModule) -> list[str]:
    login = module.login
    pinned = [f"search_path = {', '.join(login.search_path)}"] if login.search_path else []
    pinned += [f"role = {login.assume_role}"] if login.assume_role else []
    if login.statement_timeout_ms is not None:
        pinned.append(f"statement_timeout = {login.statement_timeout_ms} ms")
    if login.idle_in_transaction_session_timeout_ms is not None:
        pinned.append(
            "idle_in_transaction_session_timeout = "
            f"{login.idle_in_transaction_session_timeout_ms} ms"
        )
    paragraphs = [
        f"Django settings: the database of the {module.service} service on the "
        f"{module.stack} stack, through {_VIA[module.pooler]}",
        f"Generated by `edulink-db django-settings --service {module.service} --stack "
        f"{module.stack} --pooler {module.pooler.value}`: regenerate it, do not edit it. "
        "Moving to another endpoint changes USER, HOST and PORT only.",
        f"The login role {login.name} pins, on the role itself: {'; '.join(pinned)}. "
        "PostgreSQL applies them whenever a session logs in as the role, directly or "
        "through any pooler, and a transaction pooler keeps no SET between transactions.",
    ]
    lines: list[str] = []
    for paragraph in paragraphs:
        lines += [*comment(paragraph), "#"]
    lines += comment("Left out on purpose:")
    for item in _LEFT_OUT:
        lines += bullet(item)
    return lines


_LEFT_OUT = (
    'OPTIONS["options"] ("-c search_path=..."): PgBouncer, Supabase\'s dedicated pooler, '
    'refuses the startup parameter ("unsupported startup parameter: options") unless told '
    "to ignore it, and then drops it; Supavisor keeps only a search_path from it and "
    "ignores every other setting. The role pins what it would carry.",
    'OPTIONS["prepare_threshold"]: a psycopg 3 option, which Django\'s psycopg 3 backend '
    "already sets to None (no server-side prepared statements: a transaction pooler cannot "
    "keep them); psycopg2 never prepares, and refuses the key with any value but None.",
    "A database router: the service has one login and one alias; it reads other services "
    "only through the models `edulink-db django-models` writes, whose tables name their "
    "schema.",
)


def _reason(key: str, module: SettingsModule) -> str:
    user = module.endpoint.user
    limit = module.login.connection_limit
    reasons = {
        "USER": (
            f"The service's login role; the shared pooler finds the project by the suffix "
            f"after the dot ({user})."
            if user != module.login.name
            else "The service's login role; it acts as its group role (the role's `role` "
            "setting), so what Django creates belongs to the group."
        ),
        "PASSWORD": (
            f"From the environment: the stack output `password` of the {module.service} service "
            "(pulumi stack output --show-secrets); never written into a file."
        ),
        "CONN_MAX_AGE": (
            "Close the connection after each request, on every endpoint: a direct or "
            f"session connection is a server connection, {limit} at most for this role "
            "(CONNECTION LIMIT), and one kept per worker thread would hold them while idle."
            if limit > 0
            else "Close the connection after each request, on every endpoint: a direct or "
            "session connection kept per worker thread would hold a server connection."
        ),
        "DISABLE_SERVER_SIDE_CURSORS": (
            "QuerySet.iterator() would DECLARE a cursor in one server session and FETCH "
            "from it in later statements, which a transaction pooler may send to another "
            "session (Django docs: transaction pooling and server-side cursors). Kept on "
            "every endpoint so that changing endpoints never changes behaviour."
        ),
    }
    reasons["OPTIONS.sslmode"] = _SSLMODE
    return reasons.get(key, "")
