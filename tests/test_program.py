"""The real `__main__.py` under Pulumi mocks, for each stack: what it registers, how."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.program import (
    ADMIN_PASSWORD,
    ROOT,
    Recording,
    Secret,
    recorded,
    run_program,
    stack_config,
    with_admin_password,
)

STACKS = ("dev", "staging", "prod")
SERVICES = ("auth", "institution", "user", "notification", "application", "internship")
ROLE = "postgresql:index/role:Role"
SCHEMA = "postgresql:index/schema:Schema"
GRANT = "postgresql:index/grant:Grant"
GRANT_ROLE = "postgresql:index/grantRole:GrantRole"
DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges"
MIGRATIONS = "pulumi-python:dynamic/edulink-db:ServiceMigrations"
PROVIDER = "pulumi:providers:postgresql"


@pytest.mark.parametrize("stack", STACKS)
def test_one_explicit_provider_that_is_not_superuser(stack: str) -> None:
    recording = recorded(stack)
    [provider] = recording.of_type(PROVIDER)
    assert provider.inputs["superuser"] == "false"
    reference = f"{provider.urn}::{provider.name}-id"
    for resource in recording.resources:
        if resource.type.startswith("postgresql:"):
            assert resource.provider == reference, resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_components_and_names(stack: str) -> None:
    recording = recorded(stack)
    assert len(recording.of_type("edulink-db:index:DatabasePlatform")) == 1
    services = recording.of_type("edulink-db:index:ServiceDatabase")
    assert sorted(s.name for s in services) == sorted(SERVICES)
    roles = sorted(r.inputs["name"] for r in recording.of_type(ROLE))
    assert roles == sorted(
        [f"{s}_service" for s in SERVICES] + [f"{s}_service_role" for s in SERVICES]
    )
    schemas = sorted(r.inputs["name"] for r in recording.of_type(SCHEMA))
    assert schemas == sorted(f"{s}_schema" for s in SERVICES)
    for resource in recording.resources:
        if resource.type in (ROLE, SCHEMA):  # auto-naming would append a random suffix
            assert "name" in resource.inputs
        if resource.type.startswith(("postgresql:", "pulumi-python:dynamic/edulink-db:Service")):
            parent = next(r for r in recording.resources if r.urn == resource.parent)
            assert parent.type == "edulink-db:index:ServiceDatabase"
            assert resource.name.startswith(f"{parent.name}-")


@pytest.mark.parametrize("stack", STACKS)
def test_roles_never_carry_dangerous_attributes(stack: str) -> None:
    for role in recorded(stack).of_type(ROLE):
        for flag in (
            "superuser",
            "createDatabase",
            "createRole",
            "replication",
            "bypassRowLevelSecurity",
        ):
            assert role.inputs[flag] is False, (role.name, flag)
        if not role.inputs["login"]:
            assert role.inputs.get("roles", []) == []  # a group joins no other role
        if role.inputs["login"]:
            # exactly its own group, in `roles`: what the provider reads back on refresh
            assert role.inputs["roles"] == [role.inputs["assumeRole"]]
            assert "password" in role.secret_inputs
            assert role.inputs["connectionLimit"] > 0
            assert role.inputs["statementTimeout"] > 0
            assert role.inputs["assumeRole"] == role.inputs["name"] + "_role"
            assert role.inputs["searchPaths"] == [
                role.inputs["name"].removesuffix("_service") + "_schema"
            ]


@pytest.mark.parametrize("stack", STACKS)
def test_protection_follows_the_stack(stack: str) -> None:
    recording = recorded(stack)
    protected = stack != "dev"
    for resource in (
        recording.of_type(SCHEMA) + recording.of_type(MIGRATIONS) + recording.of_type(ROLE)
    ):
        assert resource.protect is protected, resource.name
        assert resource.retain_on_delete is protected, resource.name
    for migrations in recording.of_type(MIGRATIONS):
        assert migrations.inputs["disposable"] is (stack == "dev")


@pytest.mark.parametrize("stack", STACKS)
def test_replacements_that_would_revoke_are_delete_before_replace(stack: str) -> None:
    recording = recorded(stack)
    for resource in recording.of_type(GRANT_ROLE) + recording.of_type(DEFAULT_PRIVILEGES):
        assert resource.delete_before_replace, resource.name


def test_grants_on_one_object_are_chained() -> None:
    """Parallel GRANTs on one ACL row fail with "tuple concurrently updated" (pitfall P7)."""
    recording = recorded("prod")
    grants = recording.of_type(GRANT)
    by_urn = recording.by_urn()
    for grant in grants:
        key = (grant.inputs["schema"], tuple(grant.inputs.get("objects", [])))
        same = [
            g
            for g in grants
            if g is not grant and (g.inputs["schema"], tuple(g.inputs.get("objects", []))) == key
        ]
        for other in same:
            # one of any two grants on the same object waits, directly or through the chain
            assert _reaches(by_urn, grant.urn, other.urn) or _reaches(by_urn, other.urn, grant.urn)


def _reaches(by_urn: dict[str, object], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        urn = todo.pop()
        if urn == goal:
            return True
        if urn in seen:
            continue
        seen.add(urn)
        todo.extend(by_urn[urn].dependencies)  # type: ignore[attr-defined]
    return False


def test_migrations_wait_for_what_their_foreign_keys_need() -> None:
    recording = recorded("prod")
    by_urn = recording.by_urn()
    user = recording.by_name("user-migrations")
    needs = {by_urn[d].name for d in user.dependencies}
    assert {
        "auth-migrations",
        "institution-migrations",
        "user-references-auth_schema-users",
        "user-usage-auth_schema",
    } <= needs
    assert "connection" in user.secret_inputs
    assert user.inputs["files"] == [
        f for f in user.inputs["files"] if f.startswith("0001_baseline.sql sha256:")
    ]


def test_dev_starts_its_own_database_and_waits_for_it() -> None:
    recording = recorded("dev")
    [database] = recording.of_type("pulumi-python:dynamic/edulink-db:EmbeddedDatabase")
    assert database.inputs["major"] == 17 and database.inputs["port"] == 54322
    assert database.inputs["folder"] == str(ROOT / ".edulink" / "dev-database")
    [provider] = recording.of_type(PROVIDER)
    assert database.urn in provider.dependencies
    assert "password" in provider.secret_inputs
    for stack in ("staging", "prod"):
        assert not recorded(stack).of_type(database.type)


def test_dev_can_start_supabases_image_with_docker_instead() -> None:
    config = {k: v for k, v in stack_config("dev").items() if k != "edulink-db:embeddedDatabase"}
    config["edulink-db:localDatabase"] = json.dumps({"port": 54322})
    recording = run_program("dev", config, [])
    [container] = recording.of_type("docker:index/container:Container")
    assert (
        container.inputs["wait"] is True
        and container.inputs["healthcheck"]["tests"][1] == "pg_isready"
    )
    [provider] = recording.of_type(PROVIDER)
    assert container.urn in provider.dependencies
    assert recording.of_type("docker:index/remoteImage:RemoteImage")


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_per_service_keep_passwords_secret(stack: str) -> None:
    outputs = recorded(stack).outputs
    assert sorted(outputs) == sorted(SERVICES)
    for service, values in outputs.items():
        assert values["login_role"] == f"{service}_service"
        for key in ("password", "direct_url", "session_url", "transaction_url", "django_database"):
            assert isinstance(values[key], Secret), key
        plain = repr({k: v for k, v in values.items() if not isinstance(v, Secret)})
        assert values["password"].value not in plain and ADMIN_PASSWORD not in plain


def test_django_entry_goes_through_the_transaction_pooler() -> None:
    entry = recorded("prod").outputs["user"]["django_database"].value
    password = recorded("prod").outputs["user"]["password"].value
    assert entry == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "user_service.edulinkprod",
        "PASSWORD": password,
        "HOST": "aws-0-eu-central-1.pooler.supabase.com",
        "PORT": "6543",
        "CONN_MAX_AGE": 0,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        # Nothing a pooler could refuse or drop: search_path and role are pinned on the
        # role (edulink_db/django/settings.py says why each key is there or not).
        "OPTIONS": {"sslmode": "require"},
    }
    urls = recorded("prod").outputs["user"]
    assert urls["direct_url"].value.startswith("postgresql://user_service:")
    assert "@db.edulinkprod.supabase.co:5432/postgres?sslmode=require" in urls["direct_url"].value
    assert "@aws-0-eu-central-1.pooler.supabase.com:5432/" in urls["session_url"].value
    assert urls["transaction_url"].value.startswith("postgresql://user_service.edulinkprod:")


@pytest.fixture
def project_copy(tmp_path: Path, project_root: Path) -> Path:
    for name in ("__main__.py", "catalogue.yaml"):
        shutil.copy(project_root / name, tmp_path / name)
    shutil.copytree(project_root / "migrations", tmp_path / "migrations")
    return tmp_path


def _run_failing(
    project: Path, stack: str, config: dict[str, str], secret: list[str]
) -> tuple[str, Recording]:
    recording = Recording(stack)
    with pytest.raises(Exception) as failure:
        run_program(stack, config, secret, program=project / "__main__.py", recording=recording)
    return str(failure.value), recording


def test_a_bad_catalogue_registers_nothing_and_lists_every_problem(project_copy: Path) -> None:
    catalogue = project_copy / "catalogue.yaml"
    text = catalogue.read_text()
    text = text.replace("columns: [id, email, is_active]", "columns: [id, emial, password_hash]", 1)
    catalogue.write_text(text)
    line = text[: text.index("columns: [id, emial, password_hash]")].count("\n") + 1
    config, secret = with_admin_password(stack_config("prod"))
    message, recording = _run_failing(project_copy, "prod", config, secret)
    assert "2 problem(s) found, nothing was applied" in message
    assert (
        f"catalogue.yaml:{line}:30: services.user.reads[0].columns[2]: auth_schema.users.password_hash is secret to auth"
        in message
    )
    assert (
        f"catalogue.yaml:{line}:23: services.user.reads[0].columns[1]: unknown column auth_schema.users.emial; known: id, email"
        in message
    )
    assert [r for r in recording.resources if not r.type.startswith("pulumi:pulumi:")] == []


def test_a_missing_secret_registers_nothing(project_copy: Path) -> None:
    message, recording = _run_failing(project_copy, "staging", stack_config("staging"), [])
    assert (
        "Pulumi.staging.yaml: edulink-db:adminPassword: missing secret: run "
        "`pulumi config set --secret edulink-db:adminPassword -s staging`"
    ) in message
    assert [r for r in recording.resources if not r.type.startswith("pulumi:pulumi:")] == []
