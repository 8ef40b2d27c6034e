"""Plain data that crosses the Pulumi engine, read back as what it was written as.

A dynamic resource's inputs and outputs travel as protobuf Structs. The engine skips null
properties and the SDK's provider host (`rpc.deserialize_properties`) drops every key whose
value is None, in nested dicts too; tuples come back as lists. So what a provider hands the
engine is what it gets back only if *absent* and *None* mean the same thing on the way in.

`to_wire` writes a dataclass as the engine will store it: no None values, lists for tuples.
`from_wire` reads it back through pydantic, so an absent optional field is its default, a
list becomes the tuple it was, and a missing required field is an error that names it. Every
dataclass that travels gives its optional fields a default of None
(`tests/unit/test_wire.py` checks every one reachable from a provider's state).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter

T = TypeVar("T")


def to_wire(value: Any) -> Any:
    """`value` as the engine will hand it back: dataclasses and mappings as dicts without
    None values, sequences as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


@cache
def _adapter(kind: Hashable) -> TypeAdapter[Any]:
    return TypeAdapter(cast(Any, kind))


def from_wire(kind: type[T], data: Any) -> T:
    """Read `data` (as the engine delivered it) as `kind`; keys `kind` does not declare are
    ignored, so outputs may carry more than the inputs did."""
    result: T = _adapter(cast(Hashable, kind)).validate_python(data)
    return result
