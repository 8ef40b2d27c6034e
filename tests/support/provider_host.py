"""The SDK's own dynamic-provider host, run as the engine runs it, and talked to over gRPC.

`python -m pulumi.dynamic` is what the engine starts for every `pulumi-python:dynamic`
resource: it prints a port, serves `ResourceProvider` and unpickles our provider from the
`__provider` input. This module starts that very process and sends it the protobuf requests
the engine sends — Configure (with acceptSecrets), Check, Create, Diff, Update, Read, Delete —
so whatever the host's `rpc.deserialize_properties` does to our state (drop None values,
turn tuples into lists) happens here too.

Chosen over loading the servicer class in-process: the module starts its server at import,
and a separate process also means nothing the program computed can leak into the provider
except through the Struct, exactly as with the engine.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_KEY = "__provider"


class ProviderError(AssertionError):
    """The host answered with an error (its text carries the provider's traceback)."""


@dataclass(frozen=True)
class CheckFailed(AssertionError):
    failures: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return "; ".join(f"{prop}: {reason}" for prop, reason in self.failures)


def engine_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    """What the engine sends a provider that does not accept secrets: secrets unwrapped,
    null properties skipped (in nested objects too; list elements stay)."""
    struct = struct_pb2.Struct()
    struct.update(_engine_value(dict(values)))
    return struct


def _engine_value(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _engine_value(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: _engine_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_engine_value(v) for v in value]
    return value


def plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as the engine keeps it in a checkpoint (JSON values, secrets unwrapped)."""
    return {k: _engine_value(v) for k, v in rpc.deserialize_properties(struct).items()}


class ProviderHost:
    """One `python -m pulumi.dynamic` process: the engine starts one per deployment."""

    def __init__(self, code: Path = ROOT) -> None:
        """`code`: the folder the host imports the project's packages from."""
        path = os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")])
        env = {**os.environ, "PYTHONPATH": path}
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=code,
            env=env,
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().decode().strip()
        if not port.isdigit():
            self.close()
            raise ProviderError(f"the provider host did not start: {self._stderr()}")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        configured = self._call("Configure", provider_pb2.ConfigureRequest(acceptSecrets=True))
        # The engine unwraps secrets for a provider that does not accept them: so do we.
        assert configured.acceptSecrets is False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
        self._process.kill()
        self._process.wait()

    def _stderr(self) -> str:
        self._process.kill()
        _, err = self._process.communicate()
        return err.decode(errors="replace")

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as error:
            raise ProviderError(f"{method} failed: {error.details()}") from None  # type: ignore[attr-defined]

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        response = self._call(
            "Check",
            provider_pb2.CheckRequest(urn=urn, olds=engine_struct(olds), news=engine_struct(news)),
        )
        if response.failures:
            raise CheckFailed(tuple((f.property, f.reason) for f in response.failures))
        return plain(response.inputs)

    def create(self, urn: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call(
            "Create", provider_pb2.CreateRequest(urn=urn, properties=engine_struct(inputs))
        )
        return response.id, plain(response.properties)

    def diff(
        self,
        urn: str,
        id_: str,
        old_inputs: Mapping[str, Any],
        old_outputs: Mapping[str, Any],
        news: Mapping[str, Any],
    ) -> provider_pb2.DiffResponse:
        request = provider_pb2.DiffRequest(
            id=id_,
            urn=urn,
            olds=engine_struct(old_outputs),
            news=engine_struct(news),
            old_inputs=engine_struct(old_inputs),
        )
        response: provider_pb2.DiffResponse = self._call("Diff", request)
        return response

    def update(
        self,
        urn: str,
        id_: str,
        old_inputs: Mapping[str, Any],
        old_outputs: Mapping[str, Any],
        news: Mapping[str, Any],
    ) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=urn,
            olds=engine_struct(old_outputs),
            news=engine_struct(news),
            old_inputs=engine_struct(old_inputs),
        )
        return plain(self._call("Update", request).properties)

    def read(
        self, urn: str, id_: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.ReadRequest(
            id=id_, urn=urn, properties=engine_struct(outputs), inputs=engine_struct(inputs)
        )
        response = self._call("Read", request)
        return response.id, plain(response.properties)

    def delete(
        self, urn: str, id_: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=urn, properties=engine_struct(outputs), old_inputs=engine_struct(inputs)
        )
        self._call("Delete", request)


@dataclass(frozen=True)
class Created:
    id: str
    outs: dict[str, Any]


class HostedProvider:
    """One of our providers, pickled as `Resource` pickles it, reached only through a host:
    the provider-level tests call it like the provider, and get what the engine would."""

    def __init__(self, host: ProviderHost, provider: ResourceProvider, urn: str) -> None:
        self._host = host
        self._serialized = serialize_provider(provider)
        self._urn = urn

    def _props(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {**props, PROVIDER_KEY: self._serialized}

    def check(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        return self._host.check(self._urn, self._props(olds) if olds else {}, self._props(news))

    def create(self, props: Mapping[str, Any]) -> Created:
        checked = self.check({}, props)
        return Created(*self._host.create(self._urn, checked))

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        """Whether the engine would update: `olds` are the stored outputs."""
        response = self._host.diff(
            self._urn, id_, self._props(olds), self._props(olds), self._props(news)
        )
        return bool(response.changes == response.DIFF_SOME)

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        return self._host.update(
            self._urn, id_, self._props(olds), self._props(olds), self._props(news)
        )

    def read(self, id_: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
        return self._host.read(self._urn, id_, self._props(outputs), self._props(outputs))[1]

    def delete(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self._host.delete(self._urn, id_, self._props(outputs), self._props(outputs))


_HOSTS: list[ProviderHost] = []


def hosted(provider: ResourceProvider, name: str) -> HostedProvider:
    """`provider` behind the session's one provider host (started on first use)."""
    if not _HOSTS:
        _HOSTS.append(ProviderHost())
        atexit.register(_HOSTS[0].close)
    urn = f"urn:pulumi:test::edulink-db::pulumi-python:dynamic:Resource::{name}"
    return HostedProvider(_HOSTS[0], provider, urn)
