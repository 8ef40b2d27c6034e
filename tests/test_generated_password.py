"""Passwords without pulumi-random, through the SDK's provider host: made once, kept by the
state, secret, and replaced only when their length changes."""

from __future__ import annotations

from components.generated_password import ALPHABET, GeneratedPasswordProvider
from tests.support.provider_host import hosted
from tests.support.report import register_secret


def test_a_password_is_made_once_and_kept() -> None:
    provider = hosted(GeneratedPasswordProvider(), "auth-login-password")
    created = provider.create({"length": 40})
    password = str(created.outs["result"])
    register_secret(password)
    assert len(password) == 40 and set(password) <= set(ALPHABET)
    assert provider.diff(created.id, created.outs, {"length": 40}) is False
    assert provider.diff(created.id, created.outs, {"length": 48}) is True
    other = provider.create({"length": 40})
    register_secret(str(other.outs["result"]))
    assert other.outs["result"] != password and other.id != created.id
