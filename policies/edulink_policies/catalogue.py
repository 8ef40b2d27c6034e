"""The pack's own reading of catalogue.yaml: services, their names, sensitive tables, reads.

Deliberately independent of the project's compiler (`edulink_db`): a defect there must not
also blind the policy pack. Only what the rules need is read, with the same naming defaults
as the original design (`<service>_schema`, `<service>_service_role`, `<service>_service`)
and the catalogue's `schema` / `group_role` / `login_role` overrides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The Pulumi project (the folder that holds `policies/`); relative paths start here."""

DEFAULT_CATALOGUE = PROJECT_ROOT / "catalogue.yaml"


class CatalogueUnreadable(Exception):
    """The catalogue is missing or not shaped as expected: rules that need it cannot run."""


@dataclass(frozen=True)
class Table:
    service: str
    schema: str
    name: str
    sensitive: bool
    row_level_security: bool
    secret_columns: frozenset[str]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Read:
    """A declared cross-service read: `consumer` reads `producer`'s `table`."""

    consumer: str
    producer: str
    table: str
    columns: frozenset[str] | None  # None: the whole table
    references: frozenset[str]


@dataclass(frozen=True)
class Service:
    name: str
    schema: str
    group_role: str
    login_role: str
    tables: Mapping[str, Table]
    reads: tuple[Read, ...]


@dataclass(frozen=True)
class Catalogue:
    path: Path
    services: Mapping[str, Service]
    _by_schema: dict[str, Service] = field(init=False, repr=False, compare=False)
    _by_role: dict[str, Service] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_schema", {s.schema: s for s in self.services.values()})
        roles = {s.group_role: s for s in self.services.values()}
        roles.update({s.login_role: s for s in self.services.values()})
        object.__setattr__(self, "_by_role", roles)

    def by_schema(self, schema: str | None) -> Service | None:
        return self._by_schema.get(schema) if schema else None

    def by_role(self, role: str | None) -> Service | None:
        """The service a group or login role belongs to."""
        return self._by_role.get(role) if role else None

    def is_group_role(self, role: str | None) -> bool:
        service = self.by_role(role)
        return service is not None and service.group_role == role

    def is_login_role(self, role: str | None) -> bool:
        service = self.by_role(role)
        return service is not None and service.login_role == role

    def table(self, schema: str | None, table: str | None) -> Table | None:
        service = self.by_schema(schema)
        return service.tables.get(table) if service is not None and table else None

    def reads(self) -> list[Read]:
        return [read for service in self.services.values() for read in service.reads]

    def read(self, consumer: str, producer: str, table: str) -> Read | None:
        service = self.services.get(consumer)
        if service is None:
            return None
        return next((r for r in service.reads if r.producer == producer and r.table == table), None)


def catalogue_path(config: Mapping[str, Any]) -> Path:
    """The `catalogue` policy config value (relative to the project), or catalogue.yaml."""
    configured = config.get("catalogue")
    if configured is None:
        return DEFAULT_CATALOGUE
    if not isinstance(configured, str) or not configured:
        raise CatalogueUnreadable(f"policy config `catalogue` must be a path, not {configured!r}")
    path = Path(configured)
    return path if path.is_absolute() else PROJECT_ROOT / path


_CACHE: dict[tuple[Path, int, int], Catalogue] = {}


def load_catalogue(path: Path) -> Catalogue:
    """Read and interpret the catalogue; cached while the file is unchanged."""
    try:
        stat = path.stat()
    except OSError as error:
        raise CatalogueUnreadable(f"cannot read {path}: {error.strerror}") from error
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise CatalogueUnreadable(f"cannot parse {path}: {error}") from error
        _CACHE[key] = Catalogue(path, _services(path, data))
    return _CACHE[key]


def _services(path: Path, data: Any) -> dict[str, Service]:
    services = _mapping(path, data, "the document").get("services")
    result: dict[str, Service] = {}
    for name, spec in _mapping(path, services, "services").items():
        spec = _mapping(path, spec or {}, f"services.{name}")
        schema = _name(path, spec, "schema", f"{name}_schema", name)
        tables = {
            table: _table(path, name, schema, table, table_spec)
            for table, table_spec in _mapping(
                path, spec.get("tables") or {}, f"services.{name}.tables"
            ).items()
        }
        reads = tuple(
            _read(path, name, i, read) for i, read in enumerate(_sequence(path, spec, name))
        )
        result[str(name)] = Service(
            name=str(name),
            schema=schema,
            group_role=_name(path, spec, "group_role", f"{name}_service_role", name),
            login_role=_name(path, spec, "login_role", f"{name}_service", name),
            tables=tables,
            reads=reads,
        )
    return result


def _table(path: Path, service: str, schema: str, name: str, spec: Any) -> Table:
    spec = _mapping(path, spec or {}, f"services.{service}.tables.{name}")
    sensitive = bool(spec.get("sensitive", False))
    rls = spec.get("rls")
    return Table(
        service=service,
        schema=schema,
        name=str(name),
        sensitive=sensitive,
        row_level_security=sensitive if rls is None else bool(rls),
        secret_columns=frozenset(
            _strings(path, spec.get("secret_columns"), f"services.{service}.tables.{name}")
        ),
    )


def _read(path: Path, consumer: str, index: int, spec: Any) -> Read:
    where = f"services.{consumer}.reads[{index}]"
    spec = _mapping(path, spec, where)
    producer, table = spec.get("service"), spec.get("table")
    if not isinstance(producer, str) or not isinstance(table, str):
        raise CatalogueUnreadable(f"{path}: {where} needs `service` and `table`")
    columns = spec.get("columns")
    return Read(
        consumer=consumer,
        producer=producer,
        table=table,
        columns=None if columns is None else frozenset(_strings(path, columns, where)),
        references=frozenset(_strings(path, spec.get("references"), where)),
    )


def _name(path: Path, spec: Mapping[str, Any], key: str, default: str, service: str) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or not value:
        raise CatalogueUnreadable(f"{path}: services.{service}.{key} must be a name")
    return value


def _mapping(path: Path, value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogueUnreadable(f"{path}: {where} must be a mapping")
    return value


def _sequence(path: Path, spec: Mapping[str, Any], service: str) -> Sequence[Any]:
    reads = spec.get("reads") or []
    if not isinstance(reads, list):
        raise CatalogueUnreadable(f"{path}: services.{service}.reads must be a list")
    return reads


def _strings(path: Path, value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueUnreadable(f"{path}: {where} must list names")
    return list(value)
