"""Stack settings from Pulumi config, validated before any resource exists.

The shell hands over the raw `edulink-db:*` strings (structured values arrive as JSON text)
and says which keys are secret; this module never sees a secret's value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from edulink_db.environment.model import StackSettings
from edulink_db.errors import Issue, ensure_no_issues
from edulink_db.validation import pydantic_issues
from edulink_db.yamlsource import PathKey, format_path

# Where each value was written in the stack file, by its YAML path (`config`,
# `edulink-db:target`, `sslmode`): the CLI reads the file itself and knows; the Pulumi engine
# hands over values only.
Positions = Mapping[PathKey, tuple[int, int]]

NAMESPACE = "edulink-db"
ADMIN_PASSWORD_KEY = "adminPassword"
SETTINGS_KEYS = tuple(field.alias or name for name, field in StackSettings.model_fields.items())


@dataclass(frozen=True)
class Environment:
    """One stack: its name, validated settings and the service names they were checked against."""

    stack: str
    settings: StackSettings

    @property
    def stack_file(self) -> str:
        return stack_file(self.stack)


def stack_file(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def load_environment(
    stack: str,
    raw: Mapping[str, str],
    secret_keys: Collection[str],
    services: Collection[str] | None,
    require_secrets: bool = True,
    positions: Positions | None = None,
) -> Environment:
    """`raw` maps `edulink-db:<key>` to the config string; raise with every problem found,
    each at its line and column when `positions` are known."""
    locate = _locator(stack, positions or {})
    issues: list[Issue] = []
    values: dict[str, object] = {}
    prefix = f"{NAMESPACE}:"
    for key, text in raw.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if name == ADMIN_PASSWORD_KEY:
            continue
        if name not in SETTINGS_KEYS:
            issues.append(
                locate(
                    (name,),
                    f"unknown setting; known: {', '.join(SETTINGS_KEYS)}, {ADMIN_PASSWORD_KEY}",
                )
            )
            continue
        values[name] = _decode(text)
    settings: StackSettings | None = None
    try:
        settings = StackSettings.model_validate(values)
    except ValidationError as error:
        issues += pydantic_issues(error, locate)
    password_key = f"{prefix}{ADMIN_PASSWORD_KEY}"
    if password_key in raw and password_key not in secret_keys:
        issues.append(
            locate(
                (ADMIN_PASSWORD_KEY,), "must be a secret: set it with `pulumi config set --secret`"
            )
        )
    elif require_secrets:
        issues += missing_secrets(stack, raw, positions)
    if settings is not None and services is not None:
        for name in settings.service_limits:
            if name not in services:
                issues.append(
                    locate(
                        ("serviceLimits", name),
                        f"unknown service; known: {', '.join(sorted(services))}",
                    )
                )
    ensure_no_issues(issues)
    assert settings is not None
    return Environment(stack, settings)


def missing_secrets(
    stack: str, raw: Mapping[str, str], positions: Positions | None = None
) -> list[Issue]:
    """The admin password, when the stack needs one and it is not set. A fresh clone has
    none until someone runs `pulumi config set --secret`: the CLI can report it as a warning
    while everything else in the file is checked."""
    password_key = f"{NAMESPACE}:{ADMIN_PASSWORD_KEY}"
    # Judged from what was written, so one bad setting does not report a second.
    local = (f"{NAMESPACE}:localDatabase", f"{NAMESPACE}:embeddedDatabase")
    needs_password = f"{NAMESPACE}:target" in raw or not any(key in raw for key in local)
    if not needs_password or password_key in raw:
        return []
    locate = _locator(stack, positions or {})
    return [
        locate(
            (ADMIN_PASSWORD_KEY,),
            f"missing secret: run `pulumi config set --secret {password_key} -s {stack}`",
        )
    ]


def _locator(stack: str, positions: Positions) -> Callable[[PathKey, str], Issue]:
    """Issues named by their setting (`edulink-db:target.sslmode`) and placed where the
    stack file writes it, or at its nearest written ancestor (a missing key: `config:`)."""
    file = stack_file(stack)

    def locate(path: PathKey, message: str) -> Issue:
        written: PathKey = ("config", f"{NAMESPACE}:{path[0]}", *path[1:]) if path else ("config",)
        line = column = None
        for end in range(len(written), 0, -1):
            if written[:end] in positions:
                line, column = positions[written[:end]]
                break
        name = f"{NAMESPACE}:{format_path(path)}" if path else NAMESPACE
        return Issue(file, name, message, line, column)

    return locate


def _decode(text: str) -> object:
    """Pulumi passes structured values as JSON and scalars as plain strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
