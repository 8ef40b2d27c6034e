"""Helpers for the unit tests: small projects on disk and the repository's own inputs."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import yaml

from edulink_db.catalogue.load import LoadedCatalogue, load_catalogue
from edulink_db.environment.load import load_environment
from edulink_db.environment.model import StackSettings
from edulink_db.errors import ValidationFailed

REPO = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")

# Two services: beta reads alpha, with a declared cross-schema foreign key.
SMALL_CATALOGUE = """\
version: 1
services:
  alpha:
    tables:
      accounts: {sensitive: true, secret_columns: [password_hash]}
      notes: {}
  beta:
    tables:
      profiles: {}
    reads:
      - service: alpha
        table: accounts
        columns: [id, email]
        references: [id]
"""
ALPHA_SQL = """\
create table accounts (
    id uuid primary key,
    email text not null,
    password_hash text not null
);
create table notes (id int primary key, body text);
"""
BETA_SQL = """\
create table profiles (
    id int primary key,
    account_id uuid not null references alpha_schema.accounts (id)
);
create index profiles_account_id_idx on profiles (account_id);
"""
SMALL_MIGRATIONS = {
    "alpha/0001_baseline.sql": ALPHA_SQL,
    "beta/0001_baseline.sql": BETA_SQL,
}


def write_project(root: Path, catalogue: str, migrations: dict[str, str] | None = None) -> Path:
    """catalogue.yaml plus `migrations/<service>/<file>` (keys are relative to migrations/)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalogue.yaml").write_text(textwrap.dedent(catalogue), encoding="utf-8")
    (root / "migrations").mkdir(exist_ok=True)
    for relative, sql in (migrations or {}).items():
        path = root / "migrations" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(sql), encoding="utf-8")
    return root


def small_project(root: Path, catalogue: str = SMALL_CATALOGUE, **overrides: str) -> Path:
    """The small project; keyword overrides replace a migration (`alpha="..."`)."""
    migrations = dict(SMALL_MIGRATIONS)
    for service, sql in overrides.items():
        migrations[f"{service}/0001_baseline.sql"] = sql
    return write_project(root, catalogue, migrations)


def copy_real_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "catalogue.yaml", root / "catalogue.yaml")
    shutil.copytree(REPO / "migrations", root / "migrations")
    return root


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    """Edit a copied file; fail loudly when the text to replace is not there."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not found in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle`."""
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found in {path}")


def issues_of(root: Path) -> list[str]:
    """Every issue `load_catalogue` reports, as the one-line text a user sees."""
    try:
        load_catalogue(root)
    except ValidationFailed as failure:
        return [str(issue) for issue in failure.issues]
    raise AssertionError("the catalogue loaded without any issue")


def load_ok(root: Path) -> LoadedCatalogue:
    return load_catalogue(root)


def settings_of(stack: str) -> StackSettings:
    """A stack's validated settings, with the admin secret the protected stacks need set."""
    raw = {**stack_config(stack), "edulink-db:adminPassword": "x"}
    services = list(load_catalogue(REPO).services)
    return load_environment(stack, raw, ["edulink-db:adminPassword"], services).settings


def stack_config(stack: str) -> dict[str, str]:
    """A stack file's `edulink-db:` config as Pulumi hands it over: strings, or JSON text."""
    data = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in data["config"].items()
    }


_SERVICE_LINE = re.compile(r"(?m)^  ([a-z_][a-z0-9_]*):[ \t]*(#.*)?$")


def service_span(text: str, service: str) -> tuple[int, int]:
    """Start and end offsets of `  <service>:` and its indented block in catalogue text."""
    starts = [(m.group(1), m.start()) for m in _SERVICE_LINE.finditer(text)]
    for index, (name, start) in enumerate(starts):
        if name == service:
            end = starts[index + 1][1] if index + 1 < len(starts) else len(text)
            return start, end
    raise AssertionError(f"service {service!r} not found")


def edit_service(path: Path, service: str, old: str, new: str) -> None:
    """Replace the first `old` inside one service's block of a catalogue file."""
    text = path.read_text(encoding="utf-8")
    start, end = service_span(text, service)
    block = text[start:end]
    assert old in block, f"{old!r} not found in service {service}"
    path.write_text(text[:start] + block.replace(old, new, 1) + text[end:], encoding="utf-8")


def append_to_service(path: Path, service: str, lines: str) -> None:
    """Add lines at the end of one service's block (before the blank line that ends it)."""
    text = path.read_text(encoding="utf-8")
    start, end = service_span(text, service)
    block = text[start:end].rstrip("\n") + "\n"
    rest = text[start:end][len(text[start:end].rstrip("\n")) :]
    path.write_text(text[:start] + block + lines + rest[1:] + text[end:], encoding="utf-8")


def service_line(path: Path, service: str, needle: str) -> int:
    """1-based line of the first line containing `needle` inside one service's block."""
    text = path.read_text(encoding="utf-8")
    start, end = service_span(text, service)
    offset = text.index(needle, start, end)
    return text.count("\n", 0, offset) + 1
