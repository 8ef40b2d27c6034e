"""The repository's own catalogue and migrations load cleanly."""

from __future__ import annotations

from pathlib import Path

from edulink_db.catalogue.load import load_catalogue
from tests.unit.unit_support import REPO, copy_real_project

SERVICES = ["auth", "institution", "user", "notification", "application", "internship"]


def test_the_real_catalogue_loads() -> None:
    loaded = load_catalogue(REPO)
    assert list(loaded.services) == SERVICES
    for name, service in loaded.services.items():
        assert service.schema_name == f"{name}_schema"
        assert service.group_role == f"{name}_service_role"
        assert service.login_role == f"{name}_service"
        # every classified table is created, every created table is classified
        assert set(loaded.shapes[name].tables) == set(service.tables)
        assert [m.file_name for m in loaded.migrations[name]] == ["0001_baseline.sql"]


def test_a_copy_of_the_real_project_loads_the_same(tmp_path: Path) -> None:
    original = load_catalogue(REPO)
    copied = load_catalogue(copy_real_project(tmp_path))
    assert copied.services == original.services
    assert copied.shapes == original.shapes


def test_every_declared_read_names_existing_non_secret_columns() -> None:
    loaded = load_catalogue(REPO)
    for consumer in loaded.services.values():
        for read in consumer.reads:
            producer = loaded.services[read.service]
            table = loaded.shapes[read.service].tables[read.table]
            secret = set(producer.tables[read.table].secret_columns)
            for column in (*(read.columns or ()), *read.references):
                assert column in table.columns
                assert column not in secret


def test_every_foreign_key_of_the_real_migrations_is_indexed() -> None:
    loaded = load_catalogue(REPO)
    for shape in loaded.shapes.values():
        for table in shape.tables.values():
            for fk in table.foreign_keys:
                assert table.is_indexed(fk.columns), (table.name, fk)
