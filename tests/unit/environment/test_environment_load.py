"""Stack settings: the repository's stacks load, and every bad setting is located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edulink_db.environment.load import load_environment, missing_secrets
from edulink_db.environment.model import StackSettings
from edulink_db.errors import ValidationFailed
from edulink_db.stackfile import load_stack_file
from tests.unit.unit_support import REPO, STACKS, stack_config

SERVICES = ("auth", "institution", "user", "notification", "application", "internship")
PASSWORD = "edulink-db:adminPassword"
SECRET = (PASSWORD,)


def settings_of(stack: str) -> StackSettings:
    raw = stack_config(stack)
    secrets: tuple[str, ...] = ()
    if stack != "dev":
        raw[PASSWORD] = "s3cret"
        secrets = SECRET
    return load_environment(stack, raw, secrets, SERVICES).settings


def issues(stack: str, raw: dict[str, str], secrets: tuple[str, ...] = SECRET) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load_environment(stack, raw, secrets, SERVICES)
    return [str(issue) for issue in caught.value.issues]


def staging(**changes: object) -> dict[str, str]:
    """The real staging config with its secret password and some keys changed or removed."""
    raw = {**stack_config("staging"), PASSWORD: "s3cret"}
    for key, value in changes.items():
        name = f"edulink-db:{key}"
        if value is None:
            raw.pop(name)
        else:
            raw[name] = value if isinstance(value, str) else json.dumps(value)
    return raw


@pytest.mark.parametrize("stack", STACKS)
def test_real_stacks_load(stack: str) -> None:
    settings = settings_of(stack)
    if stack == "dev":
        assert settings.disposable and not settings.protected
        assert settings.target is None
        assert settings.embedded_database is not None
        assert (settings.embedded_database.major, settings.embedded_database.port) == (17, 54322)
    else:
        assert settings.protected and not settings.disposable
        assert settings.target is not None
        assert settings.target.host == f"db.edulink{stack}.supabase.co"
        assert settings.target.sslmode == "require"
        assert settings.pooler is not None
        assert settings.pooler.tenant == f"edulink{stack}"


def test_prod_service_limits_override_the_defaults() -> None:
    settings = settings_of("prod")
    assert settings.limits_for("auth").connection_limit == 10
    assert settings.limits_for("auth").statement_timeout_ms == 5000
    assert settings.limits_for("auth").idle_in_transaction_session_timeout_ms == 30000
    assert settings.limits_for("user").connection_limit == 8
    assert settings.limits_for("internship") == settings.limits


def test_keys_of_other_namespaces_are_ignored() -> None:
    raw = {**stack_config("dev"), "aws:region": "eu-central-1", "edulink-dbx:y": "1"}
    assert load_environment("dev", raw, (), SERVICES).settings.disposable


def test_missing_admin_password() -> None:
    assert issues("staging", staging(adminPassword=None)) == [
        "Pulumi.staging.yaml: edulink-db:adminPassword: missing secret: "
        "run `pulumi config set --secret edulink-db:adminPassword -s staging`",
    ]
    raw = stack_config("prod")
    assert issues("prod", raw, ()) == [
        "Pulumi.prod.yaml: edulink-db:adminPassword: missing secret: "
        "run `pulumi config set --secret edulink-db:adminPassword -s prod`",
    ]


def test_admin_password_that_is_not_secret() -> None:
    assert issues("staging", staging(), secrets=()) == [
        "Pulumi.staging.yaml: edulink-db:adminPassword: "
        "must be a secret: set it with `pulumi config set --secret`",
    ]


def test_admin_password_on_a_local_database_stack_must_be_secret_too() -> None:
    raw = {**stack_config("dev"), PASSWORD: "postgres"}
    assert issues("dev", raw, ()) == [
        "Pulumi.dev.yaml: edulink-db:adminPassword: "
        "must be a secret: set it with `pulumi config set --secret`",
    ]
    assert load_environment("dev", raw, SECRET, SERVICES).settings.embedded_database is not None


def test_unknown_key() -> None:
    assert issues("staging", staging(colour="blue")) == [
        "Pulumi.staging.yaml: edulink-db:colour: unknown setting; known: target, localDatabase, "
        "embeddedDatabase, pooler, disposable, protected, limits, serviceLimits, adminPassword",
    ]


def test_snake_case_key_is_unknown() -> None:
    assert issues("staging", staging(service_limits={})) == [
        "Pulumi.staging.yaml: edulink-db:service_limits: unknown setting; known: target, "
        "localDatabase, embeddedDatabase, pooler, disposable, protected, limits, serviceLimits, adminPassword",
    ]


def test_unknown_nested_field() -> None:
    target = {"host": "db.example.co", "sslMode": "require"}
    pooler = {"host": "pooler.example.co", "sessionPorts": 5432}
    assert issues("staging", staging(target=target, pooler=pooler)) == [
        "Pulumi.staging.yaml: edulink-db:pooler.sessionPorts: unknown field",
        "Pulumi.staging.yaml: edulink-db:target.sslMode: unknown field",
    ]


def test_missing_nested_field() -> None:
    assert issues("staging", staging(target={"port": 5432})) == [
        "Pulumi.staging.yaml: edulink-db:target.host: required field is missing",
    ]


def test_both_target_and_local_database() -> None:
    raw = {**stack_config("dev"), "edulink-db:target": json.dumps({"host": "localhost"})}
    assert issues("dev", raw, ()) == [
        "Pulumi.dev.yaml: edulink-db: set exactly one of target, embeddedDatabase and localDatabase",
        # a target needs the admin password
        "Pulumi.dev.yaml: edulink-db:adminPassword: missing secret: "
        "run `pulumi config set --secret edulink-db:adminPassword -s dev`",
    ]


def test_neither_target_nor_local_database() -> None:
    assert issues("staging", staging(target=None)) == [
        "Pulumi.staging.yaml: edulink-db: set exactly one of target, embeddedDatabase and localDatabase",
    ]


def test_protected_and_disposable() -> None:
    assert issues("staging", staging(disposable="true")) == [
        "Pulumi.staging.yaml: edulink-db: a stack cannot be both disposable and protected",
    ]


def test_protected_by_default() -> None:
    assert issues("staging", staging(protected=None, disposable="true")) == [
        "Pulumi.staging.yaml: edulink-db: a stack cannot be both disposable and protected",
    ]


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_protected_with_weak_sslmode(mode: str) -> None:
    target = {"host": "db.example.co", "sslmode": mode}
    assert issues("staging", staging(target=target)) == [
        "Pulumi.staging.yaml: edulink-db: a protected stack needs target.sslmode "
        f"require or stricter, not {mode}",
    ]


def test_unknown_sslmode() -> None:
    target = {"host": "db.example.co", "sslmode": "required"}
    assert issues("staging", staging(target=target)) == [
        "Pulumi.staging.yaml: edulink-db:target.sslmode: Input should be 'disable', 'allow', "
        "'prefer', 'require', 'verify-ca' or 'verify-full'",
    ]


def test_embedded_database_on_a_non_disposable_stack() -> None:
    raw = {**stack_config("dev"), "edulink-db:disposable": "false", PASSWORD: "x"}
    assert issues("dev", raw) == [
        "Pulumi.dev.yaml: edulink-db: embeddedDatabase is for disposable stacks only",
    ]


def test_local_database_on_a_protected_stack_reports_every_rule_it_breaks() -> None:
    raw = staging(target=None, localDatabase={})
    assert issues("staging", raw) == [
        "Pulumi.staging.yaml: edulink-db: localDatabase is for disposable stacks only",
    ]


def test_a_local_database_stack_is_not_asked_for_a_password_when_another_setting_fails() -> None:
    """A dev stack with localDatabase needs no admin password; a bad limit elsewhere makes
    `settings` None and the loader then also demands `pulumi config set --secret`, an
    instruction that disappears once the limit is fixed."""
    raw = {**stack_config("dev"), "edulink-db:limits": json.dumps({"connectionLimit": 0})}
    assert issues("dev", raw, ()) == [
        "Pulumi.dev.yaml: edulink-db:limits.connectionLimit: "
        "Input should be greater than or equal to 1",
    ]


def test_service_limits_for_an_unknown_service() -> None:
    limits = {"auth": {"connectionLimit": 3}, "billing": {"connectionLimit": 3}}
    assert issues("staging", staging(serviceLimits=limits)) == [
        "Pulumi.staging.yaml: edulink-db:serviceLimits.billing: unknown service; "
        "known: application, auth, institution, internship, notification, user",
    ]


def test_service_limits_with_an_invalid_service_name() -> None:
    assert issues("staging", staging(serviceLimits={"Auth-Service": {}})) == [
        "Pulumi.staging.yaml: edulink-db:serviceLimits.Auth-Service: invalid name: "
        "'Auth-Service' is not a valid identifier (must match ^[a-z_][a-z0-9_]{0,62}$)",
    ]


def test_negative_connection_limit() -> None:
    assert issues("staging", staging(limits={"connectionLimit": -1})) == [
        "Pulumi.staging.yaml: edulink-db:limits.connectionLimit: "
        "Input should be greater than or equal to 1",
    ]
    assert issues("staging", staging(serviceLimits={"auth": {"connectionLimit": -5}})) == [
        "Pulumi.staging.yaml: edulink-db:serviceLimits.auth.connectionLimit: "
        "Input should be greater than or equal to 1",
    ]


def test_bad_scalar_and_port() -> None:
    target = {"host": "db.example.co", "port": 70000}
    assert issues("staging", staging(protected="maybe", target=target)) == [
        "Pulumi.staging.yaml: edulink-db:protected: "
        "Input should be a valid boolean, unable to interpret input",
        "Pulumi.staging.yaml: edulink-db:target.port: Input should be less than or equal to 65535",
    ]


def test_several_setting_problems_are_reported_together() -> None:
    raw = staging(
        adminPassword=None,
        colour="blue",
        limits={"connectionLimit": 0, "statementTimeout": 5},
        serviceLimits={"billing": {}},
    )
    assert issues("staging", raw) == [
        "Pulumi.staging.yaml: edulink-db:adminPassword: missing secret: "
        "run `pulumi config set --secret edulink-db:adminPassword -s staging`",
        "Pulumi.staging.yaml: edulink-db:colour: unknown setting; known: target, localDatabase, "
        "embeddedDatabase, pooler, disposable, protected, limits, serviceLimits, adminPassword",
        "Pulumi.staging.yaml: edulink-db:limits.connectionLimit: "
        "Input should be greater than or equal to 1",
        "Pulumi.staging.yaml: edulink-db:limits.statementTimeout: unknown field",
    ]


def test_a_stack_file_problem_has_its_line_and_column(tmp_path: Path) -> None:
    """The CLI reads the stack file itself, so every problem in it is located like a
    catalogue problem; a missing key points at `config:`."""
    text = (REPO / "Pulumi.staging.yaml").read_text()
    text = text.replace("    port: 5432\n", "    port: 0\n", 1).replace(
        "  edulink-db:disposable: false\n",
        "  edulink-db:disposable: false\n  edulink-db:colour: blue\n",
    )
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    found = load_stack_file(tmp_path, "staging")
    with pytest.raises(ValidationFailed) as caught:
        load_environment("staging", found.config, found.secret, SERVICES, positions=found.positions)
    lines = text.splitlines()
    port = next(i for i, line in enumerate(lines, 1) if "port: 0" in line)
    colour = next(i for i, line in enumerate(lines, 1) if "colour" in line)
    config = next(i for i, line in enumerate(lines, 1) if line.startswith("config:"))
    assert [str(i) for i in caught.value.issues] == [
        f"Pulumi.staging.yaml:{config}:1: edulink-db:adminPassword: missing secret: "
        "run `pulumi config set --secret edulink-db:adminPassword -s staging`",
        f"Pulumi.staging.yaml:{port}:5: edulink-db:target.port: "
        "Input should be greater than or equal to 1",
        f"Pulumi.staging.yaml:{colour}:3: edulink-db:colour: unknown setting; known: target, "
        "localDatabase, embeddedDatabase, pooler, disposable, protected, limits, serviceLimits, adminPassword",
    ]


def test_missing_secrets_are_reported_apart_for_a_fresh_clone() -> None:
    raw = stack_config("staging")
    assert [str(i) for i in missing_secrets("staging", raw)] == [
        "Pulumi.staging.yaml: edulink-db:adminPassword: missing secret: "
        "run `pulumi config set --secret edulink-db:adminPassword -s staging`",
    ]
    assert missing_secrets("dev", stack_config("dev")) == []  # dev starts its own database
    assert load_environment("staging", raw, (), SERVICES, require_secrets=False).settings
