"""State that crosses the engine reads back as what was written (edulink_db/wire.py)."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest

from edulink_db.connection import ConnectionSettings
from edulink_db.migrations.files import Step
from edulink_db.plan.model import PolicyPlan
from edulink_db.project import Project
from edulink_db.rls.apply import SecurityState
from edulink_db.wire import from_wire, to_wire
from tests.support.provider_host import engine_struct, plain

WIRE_ROOTS = (SecurityState, Step, ConnectionSettings)


def _through_the_engine(values: dict[str, Any]) -> dict[str, Any]:
    """A Struct as the engine builds it, read by the SDK's own deserializer."""
    return plain(engine_struct(values))


def test_every_services_security_state_survives_the_engine(project: Project) -> None:
    for service in project.plan.services:
        state = SecurityState(service.row_security, service.policies)
        assert SecurityState.from_props(_through_the_engine(state.to_props())) == state
    assert any(p.with_check is None for s in project.plan.services for p in s.policies)


def test_a_policy_without_clauses_loses_nothing_but_its_none_values() -> None:
    policy = PolicyPlan("s", "a", "t", "o", "p", "select", True, ("r",), None, None)
    wire = to_wire(SecurityState((), (policy,)))
    assert "using" not in wire["policies"][0] and "with_check" not in wire["policies"][0]
    assert SecurityState.from_props(_through_the_engine(wire)).policies == (policy,)


def test_drift_travels_as_its_own_field_and_only_when_there_is_some() -> None:
    policy = PolicyPlan("s", "a", "t", "o", "p", "select", True, ("r",), "true", None)
    assert "drifted" not in SecurityState((), (policy,)).to_props()
    drifted = SecurityState((), (policy,), (("a", "t", "p"),))
    assert SecurityState.from_props(_through_the_engine(drifted.to_props())) == drifted


def test_a_refreshed_state_replaces_the_old_one_drift_included() -> None:
    policy = PolicyPlan("s", "a", "t", "o", "p", "select", True, ("r",), "true", None)
    old = {"service": "a", **SecurityState((), (policy,), (("a", "t", "p"),)).to_props()}
    assert SecurityState().over(old) == {"service": "a", "tables": [], "policies": []}


def test_a_state_with_the_old_drift_marker_reads_as_drifted() -> None:
    """Before `drifted`, a refresh wrote a changed policy with this text as its USING."""
    marked = "(changed outside the platform)"
    policy = PolicyPlan("s", "a", "t", "o", "p", "select", True, ("r",), marked, None)
    state = SecurityState.from_props(_through_the_engine(to_wire(SecurityState((), (policy,)))))
    assert state == SecurityState((), (policy,), (("a", "t", "p"),))


def test_a_missing_required_field_is_named() -> None:
    with pytest.raises(ValueError, match="checksum"):
        from_wire(Step, {"version": 1, "name": "x", "sql": "select 1"})


def _dataclasses(kind: Any) -> typing.Iterator[type]:
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        yield kind
        for field in dataclasses.fields(kind):
            yield from _dataclasses(typing.get_type_hints(kind)[field.name])
    for argument in typing.get_args(kind):
        yield from _dataclasses(argument)


@pytest.mark.parametrize("root", WIRE_ROOTS, ids=lambda r: r.__name__)
def test_every_optional_field_that_travels_has_a_default(root: type) -> None:
    """What the engine drops must come back as None, not as a missing argument."""
    for kind in set(_dataclasses(root)):
        hints = typing.get_type_hints(kind)
        for field in dataclasses.fields(kind):
            hint = hints[field.name]
            optional = type(None) in typing.get_args(hint) and (
                isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
            )
            if optional:
                assert field.default is None, f"{kind.__name__}.{field.name} needs `= None`"
