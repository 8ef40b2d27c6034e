"""A generated password as one Pulumi dynamic resource: the state is its only copy.

Replaces pulumi-random's RandomPassword, whose provider binary cannot be had on the build
machines (notes/real-engine.md §4). The password is made from Python's `secrets` at create,
returned as a secret output (encrypted in the checkpoint, `[secret]` in every display), and
never changes unless its length does: a second `pulumi up` reads it back from the state.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider

# Letters and digits only: safe unquoted in a connection URL and in a shell.
ALPHABET = string.ascii_letters + string.digits


def generate(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class GeneratedPasswordProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        length = int(props["length"])
        return CreateResult(
            f"password-{secrets.token_hex(8)}", {**props, "result": generate(length)}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = int(olds.get("length", 0)) != int(news["length"])
        return DiffResult(
            changes=changed, replaces=["length"] if changed else [], delete_before_replace=False
        )


class GeneratedPassword(Resource, module="edulink-db", name="GeneratedPassword"):
    """`result` is the password, a secret output."""

    result: pulumi.Output[str]

    def __init__(
        self, resource_name: str, *, length: int, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["result"])
        super().__init__(
            GeneratedPasswordProvider(),
            resource_name,
            {"length": length, "result": None},
            pulumi.ResourceOptions.merge(secret, opts),
        )
