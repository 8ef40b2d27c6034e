"""Drive the pack's real pulumi_policy objects without the Pulumi CLI.

Three ways in, as notes/pulumi.md §3 describes:
- directly: `ResourceValidationArgs` / `StackValidationArgs` and a `report_violation` callback;
- through the in-process analyzer servicer (`_PolicyAnalyzerServicer`: Configure, Analyze,
  AnalyzeStack), which applies enforcement levels and config exactly as the CLI's analyzer;
- from the mocks' recording of the real program (`tests/support/program.py`), bridged into
  analyzer requests: an offline stand-in for `pulumi preview --policy-pack policies`.

Properties always pass through the SDK's own deserialisation and unknown-checking proxies, so
the rules see `Mapping`/`Sequence` proxies and floats, as they do under the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edulink_policies.registry import PACK_NAME, RULES, policies
from edulink_policies.resources import (
    DEFAULT_PRIVILEGES,
    GRANT,
    GRANT_ROLE,
    MIGRATIONS,
    PROVIDER,
    ROLE,
    ROW_LEVEL_SECURITY,
    SCHEMA,
)
from edulink_policies.rule import ResourceRule, Rule, StackRule
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy

from tests.support.program import Recording, Registration

TESTDATA = Path(__file__).resolve().parent / "testdata"
TEST_CATALOGUE = TESTDATA / "catalogue.yaml"
PROJECT = "edulink-db"

DELETE = object()
"""A patch value that removes the property."""

LEVELS = {
    EnforcementLevel.ADVISORY: proto.ADVISORY,
    EnforcementLevel.MANDATORY: proto.MANDATORY,
    EnforcementLevel.DISABLED: proto.DISABLED,
    EnforcementLevel.REMEDIATE: proto.REMEDIATE,
}


# --------------------------------------------------------------------------------------------
# Resources as test data


@dataclass(frozen=True)
class R:
    """A resource as a test describes it: type, name, inputs, protect."""

    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False

    def urn(self, stack: str) -> str:
        return f"urn:pulumi:{stack}::{PROJECT}::{self.type}::{self.name}"

    def patched(self, changes: Patch) -> R:
        if callable(changes):
            return replace(self, props=changes(dict(self.props)))
        props = dict(self.props)
        protect = self.protect
        for key, value in changes.items():
            if key == "@protect":
                protect = bool(value)
            elif value is DELETE:
                props.pop(key, None)
            else:
                props[key] = value
        return replace(self, props=props, protect=protect)


Patch = Mapping[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def policy_patch(
    table: str, role: str, **changes: Any
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Patch the policies of a RowLevelSecurity resource that are on `table` for `role`."""

    def apply(props: dict[str, Any]) -> dict[str, Any]:
        policies = []
        for policy in props["policies"]:
            if policy["table"] == table and role in policy["roles"]:
                policy = {**policy, **changes}
            policies.append(policy)
        return {**props, "policies": policies}

    return apply


def _role(name: str, login: bool, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "login": login,
        "superuser": False,
        "createDatabase": False,
        "createRole": False,
        "replication": False,
        "bypassRowLevelSecurity": False,
        "inherit": True,
        "roles": [],
        **extra,
    }


def _owner_policy(schema: str, table: str, group: str) -> dict[str, Any]:
    return {
        "service": "",
        "schema": schema,
        "table": table,
        "owner": group,
        "name": f"{group}_all",
        "command": "all",
        "permissive": True,
        "roles": [group],
        "using": "true",
        "with_check": "true",
    }


def _reader_policy(schema: str, table: str, owner: str, reader: str, using: str) -> dict[str, Any]:
    return {
        "service": "",
        "schema": schema,
        "table": table,
        "owner": owner,
        "name": f"{reader}_read",
        "command": "select",
        "permissive": True,
        "roles": [reader],
        "using": using,
        "with_check": None,
    }


SERVICES = {
    # service: (schema, group role, login role, RLS tables)
    "auth": ("auth_schema", "auth_service_role", "auth_service", ["users"]),
    "user": ("user_schema", "user_service_role", "user_service", ["profiles", "settings"]),
    "billing": ("ledger", "billing_owner", "billing_app", ["invoices"]),
}


def mini_stack(protected: bool = True) -> list[R]:
    """A compliant stack for testdata/catalogue.yaml, shaped like the program's."""
    keep = protected
    resources = [
        R(
            PROVIDER,
            "edulink-db-postgresql",
            {
                "host": "db.example.supabase.co",
                "port": "5432",
                "username": "postgres",
                "database": "postgres",
                "superuser": "false",
                "sslmode": "require" if protected else "disable",
            },
        )
    ]
    for service, (schema, group, login, tables) in SERVICES.items():
        policies = [_owner_policy(schema, t, group) for t in tables]
        if service == "user":
            policies.append(
                _reader_policy("auth_schema", "users", "auth_service_role", group, "true")
            )
        if service == "billing":
            policies.append(
                _reader_policy("user_schema", "profiles", "user_service_role", group, "x")
            )
        resources += [
            R(ROLE, f"{service}-group-role", _role(group, False, connectionLimit=-1), keep),
            R(
                ROLE,
                f"{service}-login-role",
                _role(
                    login,
                    True,
                    connectionLimit=5,
                    statementTimeout=10000,
                    idleInTransactionSessionTimeout=30000,
                    assumeRole=group,
                    searchPaths=[schema],
                    password="secret-Zx1",
                ),
                keep,
            ),
            R(GRANT_ROLE, f"{service}-login-membership", {"role": login, "grantRole": group}),
            R(GRANT_ROLE, f"{service}-admin-membership", {"role": "postgres", "grantRole": group}),
            R(
                SCHEMA,
                f"{service}-schema",
                {"name": schema, "owner": group, "database": "postgres", "dropCascade": False},
                keep,
            ),
            R(
                DEFAULT_PRIVILEGES[0],
                f"{service}-revoke-public-functions",
                {
                    "role": "public",
                    "owner": group,
                    "database": "postgres",
                    "objectType": "function",
                    "privileges": [],
                },
            ),
            R(
                MIGRATIONS,
                f"{service}-migrations",
                {"service": service, "schema": schema, "role": group, "disposable": not keep},
                keep,
            ),
            R(
                ROW_LEVEL_SECURITY,
                f"{service}-row-level-security",
                {
                    "service": service,
                    "tables": [{"schema": schema, "table": t, "owner": group} for t in tables],
                    "policies": policies,
                },
                keep,
            ),
        ]
    resources += [
        grant(
            "user-usage-auth_schema", "user_service_role", "auth_schema", "schema", [], ["USAGE"]
        ),
        grant(
            "user-select-auth_schema-users",
            "user_service_role",
            "auth_schema",
            "column",
            ["users"],
            ["SELECT"],
            ["id", "email"],
        ),
        grant(
            "user-references-auth_schema-users",
            "user_service_role",
            "auth_schema",
            "column",
            ["users"],
            ["REFERENCES"],
            ["id"],
        ),
        grant("billing-usage-user_schema", "billing_owner", "user_schema", "schema", [], ["USAGE"]),
        grant(
            "billing-select-user_schema-profiles",
            "billing_owner",
            "user_schema",
            "column",
            ["profiles"],
            ["SELECT"],
            ["id", "display_name"],
        ),
        grant("billing-usage-auth_schema", "billing_owner", "auth_schema", "schema", [], ["USAGE"]),
        grant(
            "billing-select-auth_schema-audit_log",
            "billing_owner",
            "auth_schema",
            "table",
            ["audit_log"],
            ["SELECT"],
        ),
        R(
            GRANT,
            "user-connect-database",
            {
                "role": "user_service_role",
                "database": "postgres",
                "objectType": "database",
                "privileges": ["CONNECT"],
            },
        ),
    ]
    return resources


def grant(
    name: str,
    role: str,
    schema: str,
    object_type: str,
    objects: list[str],
    privileges: list[str],
    columns: list[str] | None = None,
) -> R:
    props: dict[str, Any] = {
        "role": role,
        "database": "postgres",
        "schema": schema,
        "objectType": object_type,
        "objects": objects,
        "privileges": privileges,
    }
    if columns is not None:
        props["columns"] = columns
    return R(GRANT, name, props)


def named(resources: Iterable[R], name: str) -> R:
    return next(r for r in resources if r.name == name)


def patch(name: str, changes: Patch) -> Callable[[list[R]], list[R]]:
    """A stack mutation: patch the resource called `name`."""
    return lambda rs: [r.patched(changes) if r.name == name else r for r in rs]


def without(name: str) -> Callable[[list[R]], list[R]]:
    return lambda rs: [r for r in rs if r.name != name]


def adding(resource: R) -> Callable[[list[R]], list[R]]:
    return lambda rs: [*rs, resource]


def provider_of(resources: Iterable[R]) -> R | None:
    return next((r for r in resources if r.type == PROVIDER), None)


# --------------------------------------------------------------------------------------------
# Direct calls


def _props(props: Mapping[str, Any]) -> Any:
    return unknown_checking_proxy(deserialize_properties(dict(props)))


def _opts(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def resource_args(
    resource: R, stack: str, config: Mapping[str, Any] | None = None, provider: R | None = None
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource.type,
        _props(resource.props),
        resource.urn(stack),
        resource.name,
        _opts(resource.protect),
        PolicyProviderResource(
            provider.type, _props(provider.props), provider.urn(stack), provider.name
        )
        if provider is not None
        else None,
        dict(config or {}),
    )


def stack_args(
    resources: Sequence[R], stack: str, config: Mapping[str, Any] | None = None
) -> StackValidationArgs:
    return StackValidationArgs(
        [
            PolicyResource(
                r.type, _props(r.props), r.urn(stack), r.name, _opts(r.protect), None, None, [], {}
            )
            for r in resources
        ],
        dict(config or {}),
    )


@dataclass
class Reported:
    message: str
    urn: str | None


def run_direct(
    rule: Rule,
    subject: R | Sequence[R],
    stack: str = "prod",
    config: Mapping[str, Any] | None = None,
    provider: R | None = None,
) -> list[Reported]:
    reported: list[Reported] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(Reported(message, urn))

    if isinstance(rule, ResourceRule):
        assert isinstance(subject, R)
        rule.policy.validate(resource_args(subject, stack, config, provider), report)
    else:
        assert isinstance(rule, StackRule) and not isinstance(subject, R)
        rule.policy.validate(stack_args(subject, stack, config), report)
    return reported


# --------------------------------------------------------------------------------------------
# Through the analyzer servicer


@dataclass
class Diagnostic:
    policy: str
    level: int
    message: str
    urn: str


def servicer(
    config: Mapping[str, Mapping[str, Any]] | None = None,
    levels: Mapping[str, EnforcementLevel] | None = None,
) -> _PolicyAnalyzerServicer:
    """A fresh analyzer for the pack, configured as the CLI would: every policy gets its
    effective enforcement level plus its config properties (`config` by policy name)."""
    analyzer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", policies(), EnforcementLevel.ADVISORY)
    request = proto.ConfigureAnalyzerRequest()
    for rule in RULES:
        entry = request.policyConfig[rule.name]
        entry.enforcementLevel = LEVELS[(levels or {}).get(rule.name, rule.level)]
        properties = (config or {}).get(rule.name)
        if properties:
            entry.properties.update(dict(properties))
    analyzer.Configure(request, None)
    return analyzer


def catalogue_config(path: Path = TEST_CATALOGUE, **extra: Any) -> dict[str, dict[str, Any]]:
    """Per-policy config: `catalogue` for the rules that take it, plus `extra` where accepted."""
    settings = {"catalogue": str(path), **extra}
    return {rule.name: {k: v for k, v in settings.items() if k in rule.config} for rule in RULES}


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def _provider_message(provider: R, stack: str) -> proto.AnalyzerProviderResource:
    return proto.AnalyzerProviderResource(
        type=provider.type,
        properties=_struct(provider.props),
        urn=provider.urn(stack),
        name=provider.name,
    )


def _diagnostics(response: Any) -> list[Diagnostic]:
    return [
        Diagnostic(d.policyName, d.enforcementLevel, d.message, d.urn) for d in response.diagnostics
    ]


def analyze(
    analyzer: _PolicyAnalyzerServicer, resource: R, stack: str = "prod", provider: R | None = None
) -> list[Diagnostic]:
    request = proto.AnalyzeRequest(
        type=resource.type,
        properties=_struct(resource.props),
        urn=resource.urn(stack),
        name=resource.name,
        options=proto.AnalyzerResourceOptions(protect=resource.protect),
    )
    if provider is not None:
        request.provider.CopyFrom(_provider_message(provider, stack))
    return _diagnostics(analyzer.Analyze(request, None))


def analyze_stack(
    analyzer: _PolicyAnalyzerServicer, resources: Sequence[R], stack: str = "prod"
) -> list[Diagnostic]:
    provider = provider_of(resources)
    messages = []
    for r in resources:
        message = proto.AnalyzerResource(
            type=r.type,
            properties=_struct(r.props),
            urn=r.urn(stack),
            name=r.name,
            options=proto.AnalyzerResourceOptions(protect=r.protect),
        )
        if provider is not None and r.type.startswith("postgresql:"):
            message.provider.CopyFrom(_provider_message(provider, stack))
        messages.append(message)
    return _diagnostics(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=messages), None))


# --------------------------------------------------------------------------------------------
# The real program, recorded under mocks, as an analyzer sees it


@dataclass
class Preview:
    """What `pulumi preview --policy-pack policies` would report for a recording."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == proto.MANDATORY]

    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == proto.ADVISORY]

    def codes(self) -> set[str]:
        return {d.message.split(": ", 1)[0] for d in self.diagnostics}

    def of(self, rule: Rule) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.policy == rule.name]


def _registration_message(
    registration: Registration, by_urn: Mapping[str, Registration], analyzer_type: type
) -> Any:
    message = analyzer_type(
        type=registration.type,
        properties=_struct(registration.inputs),
        urn=registration.urn,
        name=registration.name,
        options=proto.AnalyzerResourceOptions(
            protect=registration.protect, parent=registration.parent
        ),
    )
    if registration.provider:
        provider_urn = registration.provider.rsplit("::", 1)[0]
        provider = by_urn[provider_urn]
        message.provider.CopyFrom(
            proto.AnalyzerProviderResource(
                type=provider.type,
                properties=_struct(provider.inputs),
                urn=provider.urn,
                name=provider.name,
            )
        )
    if analyzer_type is proto.AnalyzerResource:
        message.parent = registration.parent
        message.dependencies.extend(registration.dependencies)
    return message


def preview(
    recording: Recording | Sequence[Registration],
    analyzer: _PolicyAnalyzerServicer | None = None,
) -> Preview:
    """Analyze every registration (resource policies), then the whole stack (stack policies)."""
    registrations = list(recording.resources if isinstance(recording, Recording) else recording)
    analyzer = analyzer or servicer()
    by_urn = {r.urn: r for r in registrations}
    result = Preview()
    for registration in registrations:
        request = _registration_message(registration, by_urn, proto.AnalyzeRequest)
        result.diagnostics += _diagnostics(analyzer.Analyze(request, None))
    stack = proto.AnalyzeStackRequest(
        resources=[_registration_message(r, by_urn, proto.AnalyzerResource) for r in registrations]
    )
    result.diagnostics += _diagnostics(analyzer.AnalyzeStack(stack, None))
    return result
