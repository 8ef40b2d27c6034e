"""DR04: a service role's settings (search_path, timeouts, role) differ from the plan."""

from __future__ import annotations

import re
from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import ident, literal, role_object
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level
from edulink_db.plan.model import RolePlan

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$")
_MS = {"us": 0.001, "ms": 1, None: 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_TIMEOUTS = ("statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout")


class RoleSettings(Rule):
    """A service role's settings (search_path, timeouts, role) differ from the plan.

    Why: through Supabase's transaction pooler nothing a session SETs survives, so these
    role settings are the only place the service's search_path, its statement and idle
    timeouts, and `role = <group>` (objects its migrations create are owned by the group)
    are pinned. A setting changed by hand, or one set for this database only
    (`ALTER ROLE ... IN DATABASE ... SET`, which overrides the role's own), silently changes
    how the service behaves.

    **Anti-pattern**: `ALTER ROLE auth_service SET statement_timeout = 0` to let one slow
    query finish.

    **Best practice**: timeouts live in the stack's `limits`; a query that needs longer runs
    with `SET LOCAL statement_timeout` in its own transaction.

    **Remediation**: run `pulumi up --refresh`, or apply the `ALTER ROLE ... SET/RESET` given
    in the finding.
    """

    code = "DR04"
    name = "drift.role_settings"
    level = Level.warning

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        roles = ctx.roles
        database = ctx.state.session.database
        for name, planned in sorted(ctx.planned_roles.items()):
            live = roles.get(name)
            if live is None:
                continue  # DR01
            wanted = planned_settings(planned)
            have = parse_settings(live.config)
            role = ident(name)
            for key in sorted(wanted.keys() | have.keys()):
                want, got = wanted.get(key), have.get(key)
                if want is not None and got is not None and same_value(key, want, got):
                    continue
                if want is None:
                    message = f"sets {key} = {got}, which the plan does not"
                    fix = f"ALTER ROLE {role} RESET {key}"
                elif got is None:
                    message = f"does not set {key}; the plan says {want}"
                    fix = f"ALTER ROLE {role} SET {key} = {literal(want)}"
                else:
                    message = f"sets {key} = {got}, the plan says {want}"
                    fix = f"ALTER ROLE {role} SET {key} = {literal(want)}"
                yield self.finding(
                    role_object(name), message, f"{fix}; or run `pulumi up --refresh`"
                )
            for key, got in sorted(parse_settings(live.database_config).items()):
                want = wanted.get(key)
                if want is not None and same_value(key, want, got):
                    continue
                yield self.finding(
                    role_object(name),
                    f"sets {key} = {got} for database {database} only, overriding the plan "
                    f"({want if want is not None else 'not set'})",
                    f"ALTER ROLE {role} IN DATABASE {ident(database)} RESET {key}",
                )


def planned_settings(role: RolePlan) -> dict[str, str]:
    settings = {}
    if role.search_path:
        settings["search_path"] = ", ".join(role.search_path)
    if role.statement_timeout_ms is not None:
        settings["statement_timeout"] = str(role.statement_timeout_ms)
    if role.idle_in_transaction_session_timeout_ms is not None:
        settings["idle_in_transaction_session_timeout"] = str(
            role.idle_in_transaction_session_timeout_ms
        )
    if role.assume_role:
        settings["role"] = role.assume_role
    return settings


def parse_settings(config: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for item in config:
        key, _, value = item.partition("=")
        settings[key.strip().lower()] = value
    return settings


def same_value(key: str, want: str, got: str) -> bool:
    if key in _TIMEOUTS:
        return milliseconds(want) == milliseconds(got)
    if key == "search_path":
        return _path(want) == _path(got)
    if key == "role":
        return got.strip().strip('"') == want
    return want == got


def milliseconds(value: str) -> float | None:
    match = _DURATION.match(value.strip("'\""))
    if match is None:
        return None
    return float(match[1]) * _MS[match[2]]


def _path(value: str) -> list[str]:
    return [part.strip().strip('"') for part in value.split(",") if part.strip()]
