"""Stack settings from Pulumi config, validated before any resource exists.

The shell hands over the raw `edulink-db:*` strings (structured values arrive as JSON text)
and says which keys are secret; this module never sees a secret's value.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from edulink_db.environment.model import StackSettings
from edulink_db.errors import Issue, ensure_no_issues
from edulink_db.validation import pydantic_issues
from edulink_db.yamlsource import PathKey, format_path

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
) -> Environment:
    """`raw` maps `edulink-db:<key>` to the config string; raise with every problem found."""
    file = stack_file(stack)

    def locate(path: PathKey, message: str) -> Issue:
        return Issue(file, f"{NAMESPACE}:{format_path(path)}" if path else NAMESPACE, message)

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
    if settings is not None:
        needs_password = settings.local_database is None
    else:  # judge from what was written, so one bad setting does not report a second
        needs_password = "target" in values or "localDatabase" not in values
    if password_key in raw and password_key not in secret_keys:
        issues.append(
            locate(
                (ADMIN_PASSWORD_KEY,), "must be a secret: set it with `pulumi config set --secret`"
            )
        )
    elif require_secrets and needs_password and password_key not in raw:
        issues.append(
            locate(
                (ADMIN_PASSWORD_KEY,),
                f"missing secret: run `pulumi config set --secret {password_key} -s {stack}`",
            )
        )
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


def _decode(text: str) -> object:
    """Pulumi passes structured values as JSON and scalars as plain strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
