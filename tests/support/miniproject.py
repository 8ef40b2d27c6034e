"""Small generated projects (catalogue, migrations, stack file) for property tests.

Three services each own one table; what varies is the names and the reads between them.
DDL quotes every identifier, as a careful author would, so what decides acceptance is the
platform's own validation, not the SQL parser.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edulink_db.environment.load import NAMESPACE

COLUMNS = ("id", "owner_id", "note", "secret")


@dataclass
class MiniService:
    name: str
    table: str = "items"
    schema: str | None = None
    reads: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def schema_name(self) -> str:
        return f"{self.name}_schema" if self.schema is None else self.schema


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_project(folder: Path, services: list[MiniService], root: Path) -> Path:
    """Write catalogue.yaml, one migration per service, Pulumi.test.yaml and __main__.py."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "__main__.py", folder / "__main__.py")
    catalogue: dict[str, Any] = {"version": 1, "services": {}}
    for service in services:
        spec: dict[str, Any] = {
            "tables": {
                service.table: {
                    "sensitive": True,
                    "secret_columns": ["secret"],
                    "policies": service.policies,
                }
            },
            "reads": service.reads,
        }
        if service.schema is not None:
            spec["schema"] = service.schema
        catalogue["services"][service.name] = spec
        try:
            (folder / "migrations" / service.name).mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError):
            continue  # not even a file name; validation must refuse the service by name
        references = [
            f"    {_q('ref_' + r['service'])} uuid REFERENCES {_q(_schema_of(services, r['service']))}.{_q(_table_of(services, r['service']))} ({_q(r['references'][0])}),\n"
            for r in service.reads
            if r.get("references")
        ]
        indexes = [
            f"CREATE INDEX ON {_q(service.schema_name)}.{_q(service.table)} ({_q('ref_' + r['service'])});\n"
            for r in service.reads
            if r.get("references")
        ]
        (folder / "migrations" / service.name / "0001_baseline.sql").write_text(
            f"CREATE TABLE {_q(service.schema_name)}.{_q(service.table)} (\n"
            "    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
            "    owner_id uuid,\n"
            + "".join(references)
            + "    note text,\n    secret text\n);\n"
            + "".join(indexes)
        )
    (folder / "catalogue.yaml").write_text(
        yaml.safe_dump(catalogue, sort_keys=False, allow_unicode=True)
    )
    stack = {
        "config": {
            f"{NAMESPACE}:target": {"host": "127.0.0.1", "port": 5432, "sslmode": "disable"},
            f"{NAMESPACE}:disposable": True,
            f"{NAMESPACE}:protected": False,
        }
    }
    (folder / "Pulumi.test.yaml").write_text(yaml.safe_dump(stack))
    return folder


def _schema_of(services: list[MiniService], name: str) -> str:
    return next((s.schema_name for s in services if s.name == name), f"{name}_schema")


def _table_of(services: list[MiniService], name: str) -> str:
    return next((s.table for s in services if s.name == name), "items")
