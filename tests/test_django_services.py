"""Real Django services, connected with what the platform hands out, through real poolers.

Two services, auth and user, each a small Django project (tests/django_services) whose
DATABASES is the module `edulink-db django-settings` writes and whose read models are the
module `edulink-db django-models` writes. Onto the replayed prod database, through each
endpoint — PgBouncer in transaction mode with its strict default (it refuses the `options`
startup parameter), PgBouncer in transaction mode ignoring `options` (what a pooler that
drops `options` does, as Supavisor does with every setting but search_path), PgBouncer in
session mode, and the server directly — and with psycopg 3 and psycopg2, each project runs
`manage.py migrate` and then scenarios that report as JSON what the server did.

What is not emulated: Supavisor itself (no binary here) — its `<role>.<project ref>` user
names (the settings' USER is overridden with the plain role), its auth_query, its pool keyed
by search_path; and TLS only as far as the test server serves it (sslmode follows it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from edulink_db.django.models import compile_read_models
from edulink_db.project import Project
from tests.support.deploy import Deployment
from tests.support.django_project import (
    DRIVERS,
    ENDPOINTS,
    DjangoProject,
    Endpoint,
    EndpointKind,
    build_project,
    open_endpoint,
    scenario_output,
)

SERVICES = ("auth", "user")
ROUNDS = 15
# Tables Django's own apps create, besides each project's app tables.
DJANGO_TABLES = {
    "auth_group",
    "auth_group_permissions",
    "auth_permission",
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "django_content_type",
    "django_migrations",
}
APP_TABLES = {
    "auth": {"auth_app_loginattempt"},
    "user": {"user_app_profilenote", "user_app_programbookmark"},
}
DIRECT = EndpointKind("direct", "direct")


@dataclass
class Run:
    """What one endpoint and driver did: migrate's exit, the catalog after, the scenarios."""

    kind: EndpointKind
    driver: str
    migrate: dict[str, tuple[int | None, str]]
    tables: list[tuple[str, str, str, bool, bool]]
    foreign_keys: list[tuple[str, str]]
    results: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def services(
    prod: Deployment, project: Project, project_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, DjangoProject]:
    """Both projects, with their read models generated and their migrations made."""
    _seed_institution(prod)
    folder = tmp_path_factory.mktemp("django")
    projects: dict[str, DjangoProject] = {}
    for name in SERVICES:
        login = project.plan.service(name).login.name
        projects[name] = build_project(
            folder / name, project_root, name, login, prod.login_password(name), prod.database
        )
        projects[name].write_settings(project_root, "direct")
        with open_endpoint(DIRECT, prod.cluster, {}) as endpoint:
            made = projects[name].manage(
                "makemigrations", f"{name}_app", endpoint=endpoint, driver="psycopg"
            )
        assert made.returncode == 0, made.stderr
    return projects


def test_django_finds_no_problem_in_the_generated_modules(
    services: dict[str, DjangoProject], prod: Deployment
) -> None:
    """`manage.py check`, warnings included, with the settings and models as generated."""
    with open_endpoint(DIRECT, prod.cluster, {}) as endpoint:
        for name, service in services.items():
            checked = service.manage(
                "check",
                "--fail-level",
                "WARNING",
                "--database",
                "default",
                endpoint=endpoint,
                driver="psycopg",
            )
            assert (checked.returncode, checked.stdout.strip()) == (
                0,
                "System check identified no issues (0 silenced).",
            ), (name, checked.stderr)


@pytest.fixture(
    scope="module",
    params=[(kind, driver) for kind in ENDPOINTS for driver in DRIVERS],
    ids=lambda p: f"{p[0].name}-{p[1]}",
)
def run(
    request: pytest.FixtureRequest,
    prod: Deployment,
    project: Project,
    project_root: Path,
    services: dict[str, DjangoProject],
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    kind, driver = request.param
    _reset(prod, project)
    for service in services.values():
        service.write_settings(project_root, kind.pooler)
    users = {s.login_role: s.password for s in services.values()}
    with open_endpoint(kind, prod.cluster, users) as endpoint:
        migrate = {
            name: (code, stderr[-3000:])
            for name, (code, _, stderr) in _at_once(
                services, ("migrate", "--no-input"), endpoint, driver
            ).items()
        }
        assert all(code == 0 for code, _ in migrate.values()), migrate
        results = _scenarios(services, endpoint, driver, tmp_path_factory.mktemp("barrier"))
    with prod.superuser() as conn:
        tables, foreign_keys = _catalog(conn)
    return Run(kind, driver, migrate, tables, foreign_keys, results)


def _scenarios(
    services: dict[str, DjangoProject], endpoint: Endpoint, driver: str, barrier: Path
) -> dict[str, dict[str, Any]]:
    auth, user = services["auth"], services["user"]
    emails = ("grace@example.org", "alan@example.org")
    auth_run = auth.scenario("run", *emails, endpoint=endpoint, driver=driver)
    user_run = user.scenario("run", *auth_run["ids"], endpoint=endpoint, driver=driver)
    results = {"auth_crud": auth_run["crud"] | {"driver": auth_run["driver"]}}
    results |= {
        name: user_run[name] | {"driver": user_run["driver"]}
        for name in ("crud", "cross_reads", "refusals")
    }
    results["user_crud"] = results.pop("crud")
    # Both services at once, three threads each, through a pool of one server connection
    # per service (PgBouncer's default_pool_size = 1).
    loop = ("edulink_scenario", "loop", str(ROUNDS), str(barrier), str(len(services)))
    for name, (code, stdout, stderr) in _at_once(services, loop, endpoint, driver).items():
        results[f"{name}_loop"] = scenario_output(code, stdout, stderr, "loop")
    return results


def _at_once(
    services: dict[str, DjangoProject], args: tuple[str, ...], endpoint: Endpoint, driver: str
) -> dict[str, tuple[int | None, str, str]]:
    """`manage.py args` in every project at the same time; exit code and output of each."""
    running = {
        name: s.start(*args, endpoint=endpoint, driver=driver) for name, s in services.items()
    }
    finished: dict[str, tuple[int | None, str, str]] = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        finished[name] = (process.returncode, stdout, stderr)
    return finished


def _seed_institution(prod: Deployment) -> None:
    """The institution service's rows the user service reads and points at."""
    with prod.login("institution") as conn:
        institution = conn.execute(
            "INSERT INTO institutions (name, code) VALUES ('Makerere University', 'MAK')"
            " RETURNING id"
        ).fetchone()
        assert institution is not None
        department = conn.execute(
            "INSERT INTO departments (institution_id, name) VALUES (%s, 'Computing') RETURNING id",
            institution,
        ).fetchone()
        assert department is not None
        conn.execute(
            "INSERT INTO programs (institution_id, department_id, name, code, level)"
            " VALUES (%s, %s, 'Computer Science', 'BSCS', 'bachelor')",
            (institution[0], department[0]),
        )


def _reset(prod: Deployment, project: Project) -> None:
    """Drop what Django created and empty the platform's tables, so the next endpoint starts
    from the deployed state: migrate must create everything again."""
    with prod.superuser() as conn:
        for name in SERVICES:
            schema = project.plan.service(name).schema.name
            keep = {*project.catalogue.shapes[name].tables, "edulink_migrations"}
            for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            ).fetchall():
                if table not in keep:
                    conn.execute(
                        sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(schema, table))
                    )
        conn.execute("TRUNCATE auth_schema.users CASCADE")


def _catalog(
    conn: psycopg.Connection[Any],
) -> tuple[list[tuple[str, str, str, bool, bool]], list[tuple[str, str]]]:
    tables = conn.execute(
        "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity,"
        " c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('auth_schema', 'user_schema', 'public')"
        " ORDER BY 1, 2"
    ).fetchall()
    foreign_keys = conn.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = 'user_schema'::regnamespace"
        " AND conrelid::regclass::text LIKE 'user_schema.user_app_%' ORDER BY 1, 2"
    ).fetchall()
    return tables, foreign_keys


def _identity(project: Project, service: str) -> dict[str, str]:
    plan = project.plan.service(service)
    return {
        "current_user": plan.group.name,
        "session_user": plan.login.name,
        "search_path": plan.schema.name,
    }


def test_migrate_creates_the_tables_in_the_services_schema_owned_by_its_group(
    run: Run, project: Project
) -> None:
    assert {name: code for name, (code, _) in run.migrate.items()} == {"auth": 0, "user": 0}
    for name in SERVICES:
        plan = project.plan.service(name)
        created = {
            (table, owner)
            for schema, table, owner, _, _ in run.tables
            if schema == plan.schema.name and table not in project.catalogue.shapes[name].tables
        }
        expected = DJANGO_TABLES | APP_TABLES[name] | {"edulink_migrations"}
        assert created == {(table, plan.group.name) for table in expected}
    assert [t for t in run.tables if t[0] == "public"] == []
    # Django's foreign key into another service's table: allowed by the REFERENCES grant.
    assert ("user_schema.user_app_programbookmark", "institution_schema.programs") in (
        run.foreign_keys
    )


def test_own_rows_are_created_read_updated_and_deleted_under_forced_row_security(
    run: Run,
) -> None:
    forced = {(s, t) for s, t, _, enabled, force in run.tables if enabled and force}
    assert {("auth_schema", "users"), ("auth_schema", "security_logs")} <= forced
    assert {("user_schema", "user_profiles"), ("user_schema", "preferences")} <= forced
    auth = run.results["auth_crud"]
    assert auth["read_email"] == "ada@example.org"
    assert auth["updated_email"] == "ada.lovelace@example.org"
    assert (auth["log_updates"], auth["log_deletes"]) == (0, 0)  # append-only, owner too
    assert auth["deleted"] == 1 and auth["attempts"] == 1
    assert auth["users"] == ["ada.lovelace@example.org", "alan@example.org", "grace@example.org"]
    user = run.results["user_crud"]
    assert user["first_name"] == "Augusta Ada"
    assert user["account_email"] == "grace@example.org"
    assert user["institution"] == "Makerere University"
    assert user["bookmarked"] == ["Computer Science", "Makerere University"]
    assert user["acting_sees"] == [user["profile"]]  # SET LOCAL held within the transaction
    assert user["all_preferences"] == 2  # and ended with it
    assert (user["notes_left"], user["profiles"]) == (0, 2)


def test_cross_service_reads_select_exactly_the_granted_columns(run: Run, project: Project) -> None:
    read = compile_read_models(project.plan, project.catalogue.shapes, "user")
    found = run.results["cross_reads"]["models"]
    assert sorted(found) == sorted(m.class_name for m in read.models)
    for model in read.models:
        (query,) = found[model.class_name]["sql"]
        table = f'"{model.schema}"."{model.table}"'
        assert f"FROM {table}" in query
        selected = query.split(" FROM ")[0].removeprefix("SELECT ").split(", ")
        assert selected == [f'{table}."{column}"' for column in model.columns]
    rows = {name: found[name]["rows"] for name in found}
    assert rows == {"AuthUsers": 3, "InstitutionInstitutions": 1, "InstitutionPrograms": 1}


def test_undeclared_columns_and_writes_into_another_service_fail_and_leave_nothing(
    run: Run, project: Project
) -> None:
    refusals = run.results["refusals"]
    assert refusals["undeclared_field"] == {
        "refused": True,
        "error": "FieldError",
        "sqlstate": None,
        # userprofile: the reverse side of the service's own UserProfile.user
        "message": "Cannot resolve keyword 'password_hash' into field. Choices are: email, "
        "id, is_active, userprofile",
    }
    assert refusals["queries_sent_for_undeclared_field"] == 0
    denied = {
        "undeclared_column_raw": "permission denied for table users",
        "undeclared_column_extra": "permission denied for table users",
        "foreign_update": "permission denied for table users",
        "foreign_insert": "permission denied for table users",
        "foreign_delete": "permission denied for table programs",
        "note_then_foreign_update": "permission denied for table users",
        "account_delete_with_cascade": "permission denied for table users",
    }
    for case, message in denied.items():
        assert refusals[case] == {
            "refused": True,
            "error": "ProgrammingError",
            "sqlstate": "42501",
            "message": message,
        }, case
    assert refusals["notes_added"] == 0  # the note's insert was rolled back with the update
    assert refusals["profile_kept"] is True  # so was Django's cascade delete of the profile
    assert refusals["still_usable"] == _identity(project, "user")["current_user"]


def test_two_services_at_once_keep_their_own_role_and_search_path(
    run: Run, project: Project
) -> None:
    loops = {name: run.results[f"{name}_loop"] for name in SERVICES}
    assert all(loop["errors"] == [] for loop in loops.values())
    assert loops["auth"]["started"] < loops["user"]["ended"]
    assert loops["user"]["started"] < loops["auth"]["ended"]  # they overlapped
    pids = {}
    for name, loop in loops.items():
        assert len(loop["seen"]) == 3 * ROUNDS
        seen = {(s["current_user"], s["session_user"], s["search_path"]) for s in loop["seen"]}
        assert seen == {tuple(_identity(project, name).values())}
        assert {s["prepared"] for s in loop["seen"]} == {0}
        pids[name] = {s["pid"] for s in loop["seen"]}
    assert pids["auth"].isdisjoint(pids["user"])
    if run.kind.pool_mode == "transaction":
        # One server connection served every thread of a service: a leak would have shown.
        assert len(pids["auth"]) == len(pids["user"]) == 1
    for result in run.results.values():
        assert result["driver"] == run.driver


@pytest.fixture
def previous_entry(services: dict[str, DjangoProject], tmp_path: Path) -> Iterator[DjangoProject]:
    """The user project with the entry this project printed before: `options` asking for a
    search_path the role does not pin, so where it goes is visible."""
    project = services["user"]
    copy = tmp_path / "user"
    shutil.copytree(project.folder, copy)
    (copy / "edulink_db_settings.py").write_text(
        "import os\n\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', "
        "'NAME': 'postgres', 'USER': 'user_service', "
        "'PASSWORD': os.environ['USER_DB_PASSWORD'], 'HOST': 'localhost', 'PORT': '6543', "
        "'CONN_MAX_AGE': 0, 'DISABLE_SERVER_SIDE_CURSORS': True, 'OPTIONS': "
        "{'sslmode': 'require', 'options': '-c search_path=public', "
        "'prepare_threshold': None}}}\n"
    )
    yield DjangoProject("user", copy, project.login_role, project.database, project.password)


def test_the_previous_entry_is_refused_or_changed_silently_by_a_pooler(
    previous_entry: DjangoProject, prod: Deployment
) -> None:
    users = {previous_entry.login_role: previous_entry.password}
    seen: dict[str, Any] = {}
    for kind in ENDPOINTS:
        with open_endpoint(kind, prod.cluster, users) as endpoint:
            result = previous_entry.manage(
                "edulink_scenario", "whoami", endpoint=endpoint, driver="psycopg"
            )
        seen[kind.name] = (
            scenario_output(0, result.stdout, "", "whoami")["identity"]["search_path"]
            if result.returncode == 0
            else result.stderr.strip().splitlines()[-1]
        )
    assert seen["pgbouncer-transaction"].endswith("unsupported startup parameter: options")
    assert seen["pgbouncer-session"].endswith("unsupported startup parameter: options")
    # Ignored: the role's search_path holds, and the setting asked for silently does nothing.
    assert seen["pgbouncer-transaction-ignoring-options"] == "user_schema"
    assert seen["direct"] == "public"
