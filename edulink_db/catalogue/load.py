"""catalogue.yaml and the migrations beside it, loaded and validated as one unit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from edulink_db.catalogue.checks import check_catalogue
from edulink_db.catalogue.model import Catalogue, ResolvedService
from edulink_db.errors import Issue, ensure_no_issues
from edulink_db.migrations.ddl import SchemaShape, read_schema_shape
from edulink_db.migrations.files import MigrationFile, discover_migrations
from edulink_db.validation import pydantic_issues
from edulink_db.yamlsource import YamlSource, load_yaml

CATALOGUE_FILE = "catalogue.yaml"
MIGRATIONS_DIR = "migrations"


@dataclass(frozen=True)
class LoadedCatalogue:
    """Everything the compiler needs from the repository, already validated."""

    catalogue: Catalogue
    services: dict[str, ResolvedService]
    migrations: dict[str, list[MigrationFile]]
    shapes: dict[str, SchemaShape]
    # The file as written, so later checks (validate --deep) can point at a line too.
    source: YamlSource | None = None


def load_catalogue(root: Path, catalogue_file: str = CATALOGUE_FILE) -> LoadedCatalogue:
    """Load and check; raise ValidationFailed listing every problem, or return the whole."""
    source = load_yaml(root / catalogue_file, catalogue_file)
    try:
        catalogue = Catalogue.model_validate(source.data)
    except ValidationError as error:
        ensure_no_issues(pydantic_issues(error, source.issue))
        raise  # pragma: no cover - pydantic never raises without errors
    services = catalogue.resolved()
    issues: list[Issue] = []
    migrations: dict[str, list[MigrationFile]] = {}
    shapes: dict[str, SchemaShape] = {}
    for name, service in services.items():
        files, found = discover_migrations(root / MIGRATIONS_DIR, name, MIGRATIONS_DIR)
        issues += found
        shape, found = read_schema_shape(service.schema_name, files, f"{MIGRATIONS_DIR}/{name}")
        issues += found
        migrations[name], shapes[name] = files, shape
    readable = {
        name: shape for name, shape in shapes.items() if migrations[name] and not shape.unread
    }
    issues += check_catalogue(source, services, readable)
    ensure_no_issues(issues)
    return LoadedCatalogue(catalogue, services, migrations, shapes, source)
