"""A stack's settings read straight from `Pulumi.<stack>.yaml`, for tools that run without
the Pulumi engine (the CLI). A `secure:` value counts as a secret that is set; its value is
never decrypted, and none of these tools needs it."""

from __future__ import annotations

import json
from pathlib import Path

from edulink_db.environment.load import NAMESPACE, stack_file
from edulink_db.errors import Issue, ValidationFailed
from edulink_db.yamlsource import load_yaml

SECRET_PLACEHOLDER = "<secret>"


def read_stack_config(root: Path, stack: str) -> tuple[dict[str, str], set[str]]:
    """`edulink-db:*` values as the engine would pass them, and which are secret."""
    name = stack_file(stack)
    if not (root / name).is_file():
        raise ValidationFailed(
            [Issue(name, "", f"no such stack file; known stacks: {', '.join(known_stacks(root))}")]
        )
    data = load_yaml(root / name, name).data or {}
    config: dict[str, str] = {}
    secret: set[str] = set()
    for key, value in (data.get("config") or {}).items():
        if not str(key).startswith(f"{NAMESPACE}:"):
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = SECRET_PLACEHOLDER
            secret.add(key)
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    return config, secret


def known_stacks(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
