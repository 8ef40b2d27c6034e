"""The pack against the real program: `__main__.py` run under mocks for each stack, its
registrations bridged into analyzer requests (an offline `pulumi preview --policy-pack
policies`), with the project's own catalogue.yaml.

The program passes with no mandatory (and no advisory) violation. Then violations the compiler
would never emit are injected into the recorded prod registrations, and each is caught with
its rule's code: the pack is a second, independent wall.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from edulink_policies.registry import BY_CODE
from edulink_policies.resources import GRANT, ROW_LEVEL_SECURITY
from policy_harness import Preview, preview, servicer
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel

from tests.support.program import Recording, Registration, recorded

STACKS = ("dev", "staging", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_program_passes_the_pack(stack: str) -> None:
    result = preview(recorded(stack))
    assert [d.message for d in result.mandatory()] == []
    assert [d.message for d in result.advisory()] == []


def test_every_rule_sees_something_of_the_program() -> None:
    """Guard against a pack that passes because its resource types no longer match."""
    types = {r.type for r in recorded("prod").resources}
    for rule in BY_CODE.values():
        wanted = getattr(rule, "types", ())
        assert not wanted or set(wanted) & types, f"{rule.code} matches no registered type"


def _grant(prod: Recording, name: str, **inputs: Any) -> Registration:
    """A Grant registered like the program's own (same parent and provider)."""
    model = next(r for r in prod.resources if r.type == GRANT)
    urn = model.urn.rsplit("::", 1)[0] + f"::{name}"
    return dataclasses.replace(
        model, name=name, urn=urn, inputs={"database": "postgres", **inputs}, dependencies=[]
    )


def _tampered(*changes: Any) -> list[Registration]:
    prod = recorded("prod")
    resources = [dataclasses.replace(r, inputs=dict(r.inputs)) for r in prod.resources]
    for change in changes:
        resources = change(prod, resources)
    return resources


def cross_service_write(prod: Recording, rs: list[Registration]) -> list[Registration]:
    return [
        *rs,
        _grant(
            prod,
            "user-write-auth_schema-users",
            role="user_service_role",
            schema="auth_schema",
            objectType="table",
            objects=["users"],
            privileges=["INSERT", "UPDATE", "DELETE"],
        ),
    ]


def public_grant(prod: Recording, rs: list[Registration]) -> list[Registration]:
    return [
        *rs,
        _grant(
            prod,
            "public-select-user_profiles",
            role="public",
            schema="user_schema",
            objectType="table",
            objects=["user_profiles"],
            privileges=["SELECT"],
        ),
    ]


def users_without_rls(prod: Recording, rs: list[Registration]) -> list[Registration]:
    for r in rs:
        if r.type == ROW_LEVEL_SECURITY and r.inputs["service"] == "auth":
            r.inputs["tables"] = [t for t in r.inputs["tables"] if t["table"] != "users"]
    return rs


def _codes(result: Preview, level: int) -> set[str]:
    return {
        d.message.split("\n", 2)[1].split(" ", 1)[0] for d in result.diagnostics if d.level == level
    }


@pytest.mark.parametrize(
    ("change", "codes", "needle"),
    [
        pytest.param(
            cross_service_write,
            {"GR01", "ST01"},
            "INSERT, UPDATE, DELETE on auth_schema.users to user_service_role",
            id="cross-service-write-grant",
        ),
        pytest.param(
            public_grant,
            {"IS01"},
            "SELECT on user_schema.user_profiles to public",
            id="public-grant",
        ),
        pytest.param(
            users_without_rls,
            {"RL01", "RL03"},
            "auth_schema.users",
            id="sensitive-table-without-rls",
        ),
    ],
)
def test_injected_violation_is_caught(change: Any, codes: set[str], needle: str) -> None:
    result = preview(_tampered(change))
    assert _codes(result, proto.MANDATORY) == codes
    for code in codes:
        found = result.of(BY_CODE[code])
        assert found and all(f"\n{code} " in d.message for d in found)
        assert any(needle in d.message for d in found), [d.message for d in found]


def test_sensitive_table_without_rls_names_table_and_blames_the_service() -> None:
    result = preview(_tampered(users_without_rls))
    (finding,) = result.of(BY_CODE["RL01"])
    assert "\nRL01 auth_schema.users: is marked sensitive in catalogue.yaml" in finding.message
    assert finding.urn.endswith("::auth-row-level-security")


def test_all_three_at_once_each_caught_once_per_object() -> None:
    result = preview(_tampered(cross_service_write, public_grant, users_without_rls))
    assert _codes(result, proto.MANDATORY) == {"GR01", "ST01", "IS01", "RL01", "RL03"}
    assert _codes(result, proto.ADVISORY) == set()


def test_enforcement_override_through_configure() -> None:
    """`--policy-pack-config` lowers GR01 to advisory, or disables it: the analyzer obeys."""
    rule = BY_CODE["GR01"]
    lowered = preview(
        _tampered(cross_service_write), servicer(levels={rule.name: EnforcementLevel.ADVISORY})
    )
    assert {d.level for d in lowered.of(rule)} == {proto.ADVISORY}
    assert _codes(lowered, proto.MANDATORY) == {"ST01"}
    disabled = preview(
        _tampered(cross_service_write), servicer(levels={rule.name: EnforcementLevel.DISABLED})
    )
    assert disabled.of(rule) == []
