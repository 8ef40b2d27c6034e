"""The settings module `edulink-db django-settings` writes: pinned by golden files.

Regenerate the golden files after a deliberate change with
`EDULINK_UPDATE_GOLDEN=1 ./scripts/test tests/unit/for_django` and review their diff: every
line of them is handed to the service teams. They are Python files, so `ruff format --check`
and `ruff check` (run by ./scripts/test) prove the output is formatted and clean.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

from edulink_db.catalogue.load import load_catalogue
from edulink_db.django.settings import (
    Pooler,
    SettingsModule,
    django_database,
    password_variable,
    render_settings_module,
    select_endpoint,
)
from edulink_db.environment.model import StackSettings
from edulink_db.errors import UserError
from edulink_db.plan.compile import compile_plan
from edulink_db.plan.model import AccessPlan
from tests.unit.unit_support import REPO, settings_of

GOLDEN = REPO / "tests" / "golden" / "django"
CASES = [
    ("user", "prod", Pooler.transaction),
    ("user", "prod", Pooler.session),
    ("user", "prod", Pooler.direct),
    ("auth", "staging", Pooler.transaction),
    ("notification", "dev", None),
]


@cache
def plan_of(stack: str) -> tuple[StackSettings, AccessPlan]:
    settings = settings_of(stack)
    return settings, compile_plan(load_catalogue(REPO), settings)


def module_for(service: str, stack: str, pooler: Pooler | None) -> SettingsModule:
    settings, plan = plan_of(stack)
    login = plan.service(service).login
    chosen, endpoint = select_endpoint(settings, stack, login.name, pooler)
    return SettingsModule(
        service, stack, chosen, endpoint, plan.database, login, password_variable(service)
    )


def matches_golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("EDULINK_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} changed; see this module's docstring"


@pytest.mark.parametrize(("service", "stack", "pooler"), CASES)
def test_the_settings_module_matches_its_golden_file(
    service: str, stack: str, pooler: Pooler | None
) -> None:
    module = module_for(service, stack, pooler)
    name = f"settings_{service}_{stack}_{module.pooler.value}.py"
    matches_golden(name, render_settings_module(module))


@pytest.mark.parametrize(("service", "stack", "pooler"), CASES)
def test_the_module_defines_the_entry_with_the_password_from_the_environment(
    service: str, stack: str, pooler: Pooler | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = module_for(service, stack, pooler)
    monkeypatch.setenv(password_variable(service), "from-the-environment")
    namespace: dict[str, object] = {}
    exec(render_settings_module(module), namespace)
    expected = django_database(module.endpoint, "from-the-environment", module.database)
    assert namespace["DATABASES"] == {"default": expected}


def test_nothing_in_the_entry_becomes_a_startup_parameter() -> None:
    """OPTIONS go to the driver as connection parameters; of libpq's, only `options` (and
    `application_name`) travel to the server in the startup packet, where a pooler can
    refuse or drop them. sslmode stays in the client."""
    module = module_for("user", "prod", Pooler.transaction)
    entry = django_database(module.endpoint, "pw", module.database)
    assert entry["OPTIONS"] == {"sslmode": "require"}
    assert "prepare_threshold" not in entry["OPTIONS"]  # psycopg 3 only; Django sets it
    assert entry["DISABLE_SERVER_SIDE_CURSORS"] is True and entry["CONN_MAX_AGE"] == 0


def test_each_endpoint_changes_user_host_and_port_only() -> None:
    entries = {
        pooler: django_database(module_for("user", "prod", pooler).endpoint, "pw", "postgres")
        for pooler in Pooler
    }
    changed = {
        key
        for key in entries[Pooler.direct]
        if len({repr(entry[key]) for entry in entries.values()}) > 1
    }
    assert changed == {"USER", "HOST", "PORT"}


def test_a_stack_without_a_pooler_says_so_instead_of_giving_the_direct_host() -> None:
    settings = settings_of("dev")
    for pooler in (Pooler.session, Pooler.transaction):
        with pytest.raises(UserError) as raised:
            select_endpoint(settings, "dev", "user_service", pooler)
        assert str(raised.value) == (
            "the dev stack has no pooler (edulink-db:pooler is not set in Pulumi.dev.yaml), "
            f"so there is no {pooler.value} pooler to connect through; its services connect "
            "directly: use --pooler direct"
        )
    assert select_endpoint(settings, "dev", "user_service", None)[0] is Pooler.direct
    assert select_endpoint(settings_of("prod"), "prod", "x", None)[0] is Pooler.transaction


def test_golden_files_are_all_produced_by_a_case() -> None:
    produced = {
        f"settings_{s}_{stack}_{module_for(s, stack, p).pooler.value}.py" for s, stack, p in CASES
    }
    on_disk = {p.name for p in Path(GOLDEN).glob("settings_*.py")}
    assert on_disk == produced
