"""The read models `edulink-db django-models` writes: pinned by golden files, and tied to
the access matrix — a model's fields are exactly the columns the matrix lets it SELECT.

Regenerate the golden files after a deliberate change with
`EDULINK_UPDATE_GOLDEN=1 ./scripts/test tests/unit/for_django` and review their diff.
"""

from __future__ import annotations

import difflib
import os
from functools import cache
from pathlib import Path

import pytest

from edulink_db.catalogue.load import LoadedCatalogue, load_catalogue
from edulink_db.django.models import ReadModels, compile_read_models, render_models_module
from edulink_db.errors import UserError
from edulink_db.matrix.entries import Entry, build_entries, diff_entries
from edulink_db.plan.compile import compile_plan
from edulink_db.plan.model import AccessPlan
from tests.unit.unit_support import (
    ALPHA_SQL,
    REPO,
    SMALL_CATALOGUE,
    STACKS,
    copy_real_project,
    edit_service,
    settings_of,
    small_project,
)

GOLDEN = REPO / "tests" / "golden" / "django"
SERVICES = ("application", "auth", "institution", "internship", "notification", "user")


def plan_of(root: Path, stack: str = "prod") -> tuple[AccessPlan, LoadedCatalogue]:
    if root == REPO:
        return repo_plan(stack)
    loaded = load_catalogue(root)
    return compile_plan(loaded, settings_of(stack)), loaded


@cache
def repo_plan(stack: str) -> tuple[AccessPlan, LoadedCatalogue]:
    loaded = load_catalogue(REPO)
    return compile_plan(loaded, settings_of(stack)), loaded


def models_of(root: Path, service: str, stack: str = "prod") -> ReadModels:
    plan, loaded = plan_of(root, stack)
    return compile_read_models(plan, loaded.shapes, service)


@pytest.mark.parametrize("service", SERVICES)
def test_the_models_module_matches_its_golden_file(service: str) -> None:
    text = render_models_module(models_of(REPO, service))
    golden = GOLDEN / f"models_{service}.py"
    if os.environ.get("EDULINK_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"models_{service}.py changed; see the docstring"


@pytest.mark.parametrize("stack", STACKS)
def test_the_models_are_the_same_on_every_stack(stack: str) -> None:
    for service in SERVICES:
        assert models_of(REPO, service, stack) == models_of(REPO, service, "prod")


def selectable(plan: AccessPlan, loaded: LoadedCatalogue, entries: list[Entry]) -> set[tuple]:
    """(service, schema, table, column) of every SELECT cell on another service's table."""
    tables = {s.schema.name: loaded.shapes[s.name].tables for s in plan.services}
    return {
        (e.service, e.schema, e.table, column)
        for e in entries
        if e.privilege == "SELECT" and e.table is not None
        for column in (e.columns or tables[e.schema][e.table].columns)
    }


def test_every_field_is_a_select_cell_of_the_matrix_and_every_cell_a_field() -> None:
    plan, loaded = plan_of(REPO)
    fields = {
        (service, *column)
        for service in SERVICES
        for column in compile_read_models(plan, loaded.shapes, service).columns()
    }
    assert fields == selectable(plan, loaded, build_entries(plan))
    assert len(fields) == 33


def test_a_changed_read_changes_the_models_as_the_matrix_diff_says(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    before_plan, before_loaded = plan_of(root)
    before = render_models_module(compile_read_models(before_plan, before_loaded.shapes, "user"))
    edit_service(
        root / "catalogue.yaml",
        "user",
        "columns: [id, email, is_active]",
        "columns: [id, email, created_at]",
    )
    after_plan, after_loaded = plan_of(root)
    after = render_models_module(compile_read_models(after_plan, after_loaded.shapes, "user"))
    diff = diff_entries(build_entries(before_plan), build_entries(after_plan))
    removed = selectable(before_plan, before_loaded, diff.removed)
    added = selectable(after_plan, after_loaded, diff.added)
    assert (removed - added, added - removed) == (
        {("user", "auth_schema", "users", "is_active")},
        {("user", "auth_schema", "users", "created_at")},
    )
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == [
        "-    is_active = models.BooleanField()",
        "+    created_at = models.DateTimeField()",
    ]


ODD_SQL = """\
create table accounts (
    id uuid primary key,
    email text not null unique,
    "class" text,
    pk integer,
    a__b_ numeric(6, 1),
    tags text[] not null,
    password_hash text not null
);
create table notes (
    id int primary key,
    author_email text references accounts (email),
    owner_id uuid not null references accounts (id),
    body text
);
create index notes_author_email_idx on notes (author_email);
create index notes_owner_id_idx on notes (owner_id);
"""
ODD_READS = """\
      - service: alpha
        table: accounts
        columns: [id, email, class, pk, a__b_, tags]
        references: [id]
      - service: alpha
        table: notes
        columns: [id, author_email, owner_id]
"""


def test_awkward_columns_get_names_django_accepts_and_foreign_keys_their_targets(
    tmp_path: Path,
) -> None:
    catalogue = SMALL_CATALOGUE.replace(
        "      - service: alpha\n        table: accounts\n        columns: [id, email]\n"
        "        references: [id]\n",
        ODD_READS,
    )
    root = small_project(tmp_path, catalogue, alpha=ODD_SQL)
    text = render_models_module(models_of(root, "beta"))
    assert '    class_value = models.TextField(db_column="class", null=True)\n' in text
    assert '    pk_value = models.IntegerField(db_column="pk", null=True)\n' in text
    assert (
        "    a_b = models.DecimalField(\n"
        "        max_digits=6,\n"
        "        decimal_places=1,\n"
        '        db_column="a__b_",\n'
        "        null=True,\n"
        "    )\n"
    ) in text
    assert "    tags = ArrayField(models.TextField())\n" in text
    assert "from django.contrib.postgres.fields import ArrayField\n" in text
    assert (
        "    author_email = models.ForeignKey(\n"
        '        "AlphaAccounts",\n'
        "        models.DO_NOTHING,\n"
        '        to_field="email",\n'
        '        related_name="+",\n'
        '        db_column="author_email",\n'
        "        null=True,\n"
        "    )\n"
    ) in text
    assert (
        "    owner = models.ForeignKey(\n"
        '        "AlphaAccounts",\n'
        "        models.DO_NOTHING,\n"
        '        related_name="+",\n'
        '        db_column="owner_id",\n'
        "    )\n"
    ) in text
    compile(text, "models.py", "exec")


def test_a_read_without_a_key_and_a_type_without_a_field_are_refused(tmp_path: Path) -> None:
    keyless = SMALL_CATALOGUE.replace("columns: [id, email]", "columns: [email]")
    root = small_project(tmp_path / "keyless", keyless)
    with pytest.raises(UserError) as raised:
        models_of(root, "beta")
    assert str(raised.value) == (
        "alpha_schema.accounts: a Django model needs a column that identifies a row, and the "
        "read grants none (primary key: id); add the primary key to the read's columns"
    )
    odd = ALPHA_SQL.replace("email text not null,", "email text not null,\n    spot point,")
    catalogue = SMALL_CATALOGUE.replace("columns: [id, email]", "columns: [id, spot]")
    root = small_project(tmp_path / "odd", catalogue, alpha=odd)
    with pytest.raises(UserError) as raised:
        models_of(root, "beta")
    assert str(raised.value).startswith(
        "alpha_schema.accounts.spot: type point has no Django field here (known: bool, bpchar,"
    )
    assert str(raised.value).endswith(
        "leave the column out of the read, or give it one of these types"
    )
