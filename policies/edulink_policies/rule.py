"""One rule = one permanent code, one check, one Pulumi policy.

A rule module defines a `check` that yields `Violation`s and wraps it in a `ResourceRule` or a
`StackRule`; the wrapper builds the real `pulumi_policy` object, renders every violation as a
`Finding` whose message starts with the code, and turns a crash (an unreadable catalogue, a
property of an unexpected shape, a bug) into a violation that says the rule could not be
evaluated: a rule never fails open. Unknown values during preview are left to the SDK, which
reports them as advisory "can't run policy during preview".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError

from edulink_policies.catalogue import Catalogue, catalogue_path, load_catalogue
from edulink_policies.resources import Resource, stack_of

DEFAULT_PROTECTED_STACKS = ("staging", "prod")
DEFAULT_ADMIN_ROLES = ("postgres",)

ConfigKey = Literal["catalogue", "protected", "protectedStacks", "adminRoles"]

CONFIG_PROPERTIES: dict[str, dict[str, Any]] = {
    "catalogue": {
        "type": "string",
        "description": "Path of catalogue.yaml (relative paths start at the Pulumi project); "
        "defaults to the project's catalogue.yaml.",
    },
    "protected": {
        "type": "boolean",
        "description": "Treat the stack as protected (true) or not (false), whatever its name "
        "and resources say.",
    },
    "protectedStacks": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Stack names that are protected; default: staging, prod.",
    },
    "adminRoles": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Roles that run Pulumi and may be members of service group roles; "
        "default: postgres (and the provider's username when known).",
    },
}

_CODE = re.compile(r"^[A-Z]{2}\d{2}$")


@dataclass(frozen=True)
class Violation:
    """What a check yields: the object, what is wrong, and optionally a specific fix."""

    object: str
    message: str
    remediation: str | None = None
    urn: str | None = None  # stack rules: the resource to blame


@dataclass(frozen=True)
class Finding:
    """The one finding shape (code, level, object, message, remediation)."""

    code: str
    level: str
    object: str
    message: str
    remediation: str

    def render(self) -> str:
        return f"{self.code} {self.object}: {self.message}\nRemediation: {self.remediation}"


class ConfigError(Exception):
    """A policy config value has the wrong shape."""


@dataclass
class Context:
    """The policy config, the stack and (lazily) the catalogue a check works with."""

    config: Mapping[str, Any]
    stack: str
    _catalogue: Catalogue | None = field(default=None, repr=False)

    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = load_catalogue(catalogue_path(self.config))
        return self._catalogue

    def protected(self, evidence: bool) -> bool:
        """Explicit `protected` config, else the stack's name, else what the resources show."""
        explicit = self.config.get("protected")
        if explicit is not None:
            if not isinstance(explicit, bool):
                raise ConfigError(f"policy config `protected` must be a boolean: {explicit!r}")
            return explicit
        if self.stack in self._names("protectedStacks", DEFAULT_PROTECTED_STACKS):
            return True
        return evidence

    def admin_roles(self, provider_props: Mapping[str, Any] | None) -> set[str]:
        roles = set(self._names("adminRoles", DEFAULT_ADMIN_ROLES))
        username = provider_props.get("username") if provider_props is not None else None
        if isinstance(username, str) and username:
            roles.add(username)
        return roles

    def _names(self, key: str, default: Sequence[str]) -> list[str]:
        value = self.config.get(key)
        if value is None:
            return list(default)
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConfigError(f"policy config `{key}` must be a list of names")
        names = list(value)
        if not all(isinstance(v, str) for v in names):
            raise ConfigError(f"policy config `{key}` must be a list of names")
        return names


ResourceCheck = Callable[[Resource, Context], Iterable[Violation]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    remediation: str
    level: EnforcementLevel
    severity: Severity
    doc: str
    config: tuple[ConfigKey, ...] = ()

    def __post_init__(self) -> None:
        if not _CODE.match(self.code) or not self.name.startswith(f"{self.code.lower()}-"):
            raise ValueError(f"rule {self.code}/{self.name}: code AA00, name '<code>-<slug>'")

    @property
    def description(self) -> str:
        return f"{self.code}: {self.summary}"

    @property
    def policy(self) -> Policy:
        raise NotImplementedError

    def _config_schema(self) -> PolicyConfigSchema | None:
        if not self.config:
            return None
        return PolicyConfigSchema({key: CONFIG_PROPERTIES[key] for key in self.config})

    def _policy_args(self, validate: Callable[..., None]) -> dict[str, Any]:
        """What both kinds of pulumi_policy object are built from."""
        return {
            "name": self.name,
            "description": self.description,
            "validate": validate,
            "enforcement_level": self.level,
            "config_schema": self._config_schema(),
            "severity": self.severity,
            "remediation_steps": self.remediation,
        }

    def _evaluate(
        self, report: ReportViolation, object_: str, run: Callable[[], Iterable[Violation]]
    ) -> None:
        """Report what `run` yields; a crash becomes a violation, never a silent pass.
        Unknown values and not-applicable stay the SDK's to handle."""
        try:
            violations = list(run())
        except (UnknownValueError, _NotApplicableError):
            raise
        except Exception as error:
            violations = [self._could_not_evaluate(object_, error)]
        for violation in violations:
            finding = Finding(
                code=self.code,
                level=self.level.value,
                object=violation.object,
                message=violation.message,
                remediation=violation.remediation or self.remediation,
            )
            report(finding.render(), violation.urn)

    def _could_not_evaluate(self, object_: str, error: Exception) -> Violation:
        return Violation(
            object_,
            f"could not evaluate this rule ({type(error).__name__}: {error}); "
            "it counts as a violation until it can",
            "fix the cause above (policy config, catalogue.yaml or the resource's properties)",
        )


@dataclass(frozen=True)
class ResourceRule(Rule):
    types: tuple[str, ...] = ()
    check: ResourceCheck | None = None
    _policy: ResourceValidationPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(
            self, "_policy", ResourceValidationPolicy(**self._policy_args(self.validate))
        )

    @property
    def policy(self) -> ResourceValidationPolicy:
        return self._policy

    def validate(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in self.types:
            return
        check = self.check
        assert check is not None, self.code
        context = Context(args.get_config(), stack_of(args.urn))
        self._evaluate(report, args.name, lambda: check(Resource.of(args), context))


@dataclass(frozen=True)
class StackRule(Rule):
    check: StackCheck | None = None
    _policy: StackValidationPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(
            self, "_policy", StackValidationPolicy(**self._policy_args(self.validate))
        )

    @property
    def policy(self) -> StackValidationPolicy:
        return self._policy

    def validate(self, args: StackValidationArgs, report: ReportViolation) -> None:
        check = self.check
        assert check is not None, self.code
        resources = [Resource.of(r) for r in args.resources]
        stack = next((stack_of(r.urn) for r in resources if stack_of(r.urn)), "")
        context = Context(args.get_config(), stack)
        self._evaluate(report, "stack", lambda: check(resources, context))
