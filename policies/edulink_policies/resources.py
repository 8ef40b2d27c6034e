"""What the rules see of a registered resource, and how they read its properties.

The analyzer hands properties over as read-only proxies (`Mapping` / `Sequence`, not `dict` /
`list`), numbers as floats, and a provider's inputs as strings ("false", "5432"). The readers
here accept all of those and nothing else: a value of an unexpected shape raises
`UnexpectedValue`, which the rule turns into a "could not evaluate" violation (never a pass).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs

GRANT = "postgresql:index/grant:Grant"
DEFAULT_PRIVILEGES = (
    "postgresql:index/defaultPrivileges:DefaultPrivileges",
    # the provider's deprecated spelling of the same resource
    "postgresql:index/defaultPrivileg:DefaultPrivileg",
)
ROLE = "postgresql:index/role:Role"
GRANT_ROLE = "postgresql:index/grantRole:GrantRole"
SCHEMA = "postgresql:index/schema:Schema"
PROVIDER = "pulumi:providers:postgresql"
MIGRATIONS = "pulumi-python:dynamic/edulink-db:ServiceMigrations"
ROW_LEVEL_SECURITY = "pulumi-python:dynamic/edulink-db:RowLevelSecurity"

PUBLIC = "public"


class UnexpectedValue(Exception):
    """A property does not have the shape the rule relies on."""


@dataclass(frozen=True)
class Resource:
    """One registered resource, whether it came from `Analyze` or `AnalyzeStack`."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool
    provider_props: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, source: ResourceValidationArgs | PolicyResource) -> Resource:
        """From a resource being validated or one of a stack's resources: the SDK's two types
        carry the same attributes."""
        return cls(
            type=source.resource_type,
            name=source.name,
            urn=source.urn,
            props=source.props,
            protect=bool(source.opts.protect) if source.opts is not None else False,
            provider_props=source.provider.props if source.provider is not None else None,
        )

    def text(self, key: str) -> str | None:
        return text(self.props, key)

    def strings(self, key: str) -> list[str]:
        return strings(self.props, key)

    def flag(self, key: str, default: bool = False) -> bool:
        return flag(self.props, key, default)

    def number(self, key: str) -> float | None:
        return number(self.props, key)

    def records(self, key: str) -> list[Mapping[str, Any]]:
        return records(self.props, key)


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> `<stack>`."""
    head = urn.split("::", 1)[0]
    return head.rsplit(":", 1)[-1] if head.startswith("urn:pulumi:") else ""


def of_type(resources: Iterable[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def text(props: Mapping[str, Any], key: str) -> str | None:
    value = props.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UnexpectedValue(f"`{key}` should be a string, not {type(value).__name__}")
    return value


def strings(props: Mapping[str, Any], key: str) -> list[str]:
    value = props.get(key)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise UnexpectedValue(f"`{key}` should be a list, not {type(value).__name__}")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise UnexpectedValue(f"`{key}` should list strings")
    return items


def flag(props: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = props.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise UnexpectedValue(f"`{key}` should be a boolean, not {value!r}")


def number(props: Mapping[str, Any], key: str) -> float | None:
    value = props.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise UnexpectedValue(f"`{key}` should be a number, not a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise UnexpectedValue(f"`{key}` should be a number, not {value!r}")


def records(props: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = props.get(key)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise UnexpectedValue(f"`{key}` should be a list of objects")
    items = list(value)
    if not all(isinstance(item, Mapping) for item in items):
        raise UnexpectedValue(f"`{key}` should be a list of objects")
    return items


def privileges(props: Mapping[str, Any]) -> list[str]:
    """Privilege keywords, upper-cased (the provider accepts either case)."""
    return [p.upper() for p in strings(props, "privileges")]


def is_public(role: str | None) -> bool:
    return role is not None and role.lower() == PUBLIC
