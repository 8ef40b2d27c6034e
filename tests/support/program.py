"""Run the real `__main__.py` under Pulumi mocks and record every registration.

The Pulumi CLI and provider plugins cannot run here, so this is how the program is observed:
a MockMonitor subclass keeps each RegisterResourceRequest (type, name, inputs, parent,
dependencies, protect, retain_on_delete, delete_before_replace) and the mocks resolve the
few computed outputs the program reads (generated passwords).
"""

from __future__ import annotations

import json
import runpy
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, rpc

from tests.support.report import register_secret

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "edulink-db"
PASSWORD_TYPE = "pulumi-python:dynamic/edulink-db:GeneratedPassword"
ADMIN_PASSWORD = "test-admin-password-Xq9"  # what the tests give as the stack's secret
register_secret(ADMIN_PASSWORD)


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]
    secret_inputs: set[str]
    parent: str
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    provider: str
    # The `object` Struct exactly as the program registered it (secrets wrapped, None values
    # present): what the engine receives, and what the provider host is driven from.
    struct: struct_pb2.Struct = field(default_factory=struct_pb2.Struct, repr=False)
    aliases: list[str] = field(default_factory=list)
    # What the mocks resolved (random results): a checkpoint keeps it as the outputs.
    outputs: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Recording:
    stack: str
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str) -> Registration:
        return next(r for r in self.resources if r.name == name)

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.resources}


class _Mocks(mocks.Mocks):
    """Resolves what the program reads back. `kept` holds outputs a checkpoint already has
    (keyed by type and name): the engine hands those back instead of generating anew."""

    def __init__(self, kept: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self.kept = kept or {}

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if (args.typ, args.name) in self.kept:
            return f"{args.name}-id", {**state, **self.kept[(args.typ, args.name)]}
        if args.typ == "pulumi-python:dynamic/edulink-db:EmbeddedDatabase":
            state["password"] = secrets.token_urlsafe(24)
            register_secret(state["password"])
        if args.typ == PASSWORD_TYPE:
            state["result"] = secrets.token_urlsafe(30)[: int(args.inputs.get("length", 32))]
            register_secret(state["result"])
        if args.typ.startswith("docker:"):
            state.setdefault("imageId", "sha256:" + "0" * 64)
        return f"{args.name}-id", state

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, recording: Recording, mock: mocks.Mocks) -> None:
        super().__init__(mock)
        self.recording = recording
        self.urns: set[str] = {r.urn for r in recording.resources}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if response.urn in self.urns:  # the real engine refuses these; the mock does not
            raise AssertionError(f"duplicate URN {response.urn}")
        self.urns.add(response.urn)
        raw = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        inputs, secret = _unwrap(raw)
        self.recording.resources.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                custom=request.custom,
                inputs=inputs,
                secret_inputs=secret,
                parent=request.parent,
                dependencies=list(request.dependencies),
                protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                delete_before_replace=request.deleteBeforeReplace,
                provider=request.provider,
                struct=_copy(request.object),
                outputs=_unwrap(json_format.MessageToDict(response.object))[0],
                aliases=[a.urn for a in request.aliases if a.urn] + list(request.aliasURNs),
            )
        )
        return response


def _copy(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    copy = struct_pb2.Struct()
    copy.CopyFrom(struct)
    return copy


def _unwrap(raw: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Plain values, plus the names of inputs that arrived wrapped as secrets."""
    inputs: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in raw.items():
        if rpc.is_rpc_secret(value):
            secret.add(key)
            value = rpc.unwrap_rpc_secret(value)
        inputs[key] = value
    return inputs, secret


def stack_config(stack: str, root: Path = ROOT) -> dict[str, str]:
    """A stack file's `config:` as the engine passes it: strings, structured values as JSON."""
    data = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()) or {}
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in (data.get("config") or {}).items()
    }


def with_admin_password(config: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Add the secret a platform engineer sets with `pulumi config set --secret`."""
    if f"{PROJECT}:localDatabase" in config:
        return config, []
    key = f"{PROJECT}:adminPassword"
    return {**config, key: ADMIN_PASSWORD}, [key]


def run_program(
    stack: str,
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    program: Path = ROOT / "__main__.py",
    recording: Recording | None = None,
    kept: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> Recording:
    """Run the program once; raises whatever the program raised (e.g. a validation error),
    after which `recording` still shows what had been registered."""
    if config is None:
        config, secret_keys = with_admin_password(stack_config(stack))
    recording = recording if recording is not None else Recording(stack)
    mock = _Mocks(kept)
    pulumi.runtime.set_mocks(
        mock,
        project=PROJECT,
        stack=stack,
        preview=False,
        monitor=_RecordingMonitor(recording, mock),
    )
    runtime_config.set_all_config(config, secret_keys or [])
    try:
        pulumi.runtime.test(lambda: runpy.run_path(str(program), run_name="__main__"))()
        recording.outputs = _resolve_outputs()
    finally:
        runtime_config.set_all_config({}, [])
    return recording


def _resolve_outputs() -> dict[str, Any]:
    """Stack exports never reach the monitor; read them off the root Stack resource."""
    root = pulumi.runtime.get_root_resource()
    collected: dict[str, Any] = {}

    def read() -> Any:
        async def gather() -> None:
            for key, value in (root.outputs if root else {}).items():
                collected[key] = await _resolve(value)

        return gather()

    pulumi.runtime.test(read)()
    if root is not None:
        root.outputs.clear()
    return collected


async def _resolve(value: Any) -> Any:
    """Resolve nested Outputs, keeping secrecy visible as a ("secret", value) marker."""
    if isinstance(value, pulumi.Output):
        resolved = await _resolve(await value.future())
        return Secret(resolved) if await value.is_secret() else resolved
    if isinstance(value, dict):
        return {k: await _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [await _resolve(v) for v in value]
    return value


@dataclass(frozen=True)
class Secret:
    """An output the engine would store encrypted and print as [secret]."""

    value: Any

    def __repr__(self) -> str:
        return "Secret([secret])"


_RECORDINGS: dict[str, Recording] = {}


def recorded(stack: str) -> Recording:
    """The real program's registrations for a stack with its own config, recorded once."""
    if stack not in _RECORDINGS:
        _RECORDINGS[stack] = run_program(stack)
    return _RECORDINGS[stack]
