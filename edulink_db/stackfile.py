"""A stack's settings read straight from `Pulumi.<stack>.yaml`, for tools that run without
the Pulumi engine (the CLI). A `secure:` value counts as a secret that is set; its value is
never decrypted, and none of these tools needs it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from edulink_db.environment.load import NAMESPACE, stack_file
from edulink_db.errors import Issue, UserError, ValidationFailed
from edulink_db.yamlsource import PathKey, load_yaml

SECRET_PLACEHOLDER = "<secret>"


@dataclass(frozen=True)
class StackFile:
    """`edulink-db:*` values as the engine would pass them, which are secret, and where
    each was written (so a problem in the file is reported at its line and column)."""

    stack: str
    config: dict[str, str]
    secret: set[str]
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)


def load_stack_file(root: Path, stack: str) -> StackFile:
    name = stack_file(stack)
    if not (root / name).is_file():
        raise ValidationFailed(
            [Issue(name, "", f"no such stack file; known stacks: {', '.join(known_stacks(root))}")]
        )
    source = load_yaml(root / name, name)
    data = source.data or {}
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
    return StackFile(stack, config, secret, source.positions)


def read_stack_config(root: Path, stack: str) -> tuple[dict[str, str], set[str]]:
    """`edulink-db:*` values as the engine would pass them, and which are secret."""
    found = load_stack_file(root, stack)
    return found.config, found.secret


def known_stacks(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def choose_stack(root: Path, stack: str | None) -> str:
    """The stack a command works on: the one named, or the only stack file there is.

    With several stack files a default would pick one silently (auditing dev against prod's
    plan reports a dozen false findings), so the caller must say which."""
    if stack:
        return stack
    stacks = known_stacks(root)
    if len(stacks) == 1:
        return stacks[0]
    if not stacks:
        raise UserError(f"no stack file (Pulumi.<stack>.yaml) in {root}")
    raise UserError(f"{len(stacks)} stacks ({', '.join(stacks)}): say which with --stack")
