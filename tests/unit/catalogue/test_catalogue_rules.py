"""catalogue.yaml rules: every problem located as `file:line:col: dotted.path: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from edulink_db.catalogue.load import load_catalogue
from tests.unit.unit_support import (
    SMALL_CATALOGUE,
    append_to_service,
    copy_real_project,
    edit_service,
    issues_of,
    service_line,
    small_project,
    write_project,
)

IDENTIFIER_RULE = "is not a valid identifier (must match ^[a-z_][a-z0-9_]{0,62}$)"
UNDECLARED_BETA_FK = (
    "migrations/beta/0001_baseline.sql:1: foreign key profiles(account_id) references "
    "alpha_schema.accounts(id) but services.beta.reads declares no such references"
)


def edited(catalogue: str, old: str, new: str) -> str:
    assert old in catalogue
    return catalogue.replace(old, new, 1)


def test_small_project_loads(tmp_path: Path) -> None:
    loaded = load_catalogue(small_project(tmp_path))
    assert list(loaded.services) == ["alpha", "beta"]
    assert loaded.services["beta"].schema_name == "beta_schema"
    assert loaded.services["beta"].group_role == "beta_service_role"
    assert loaded.services["beta"].login_role == "beta_service"


def test_unknown_service_in_a_read(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "- service: alpha", "- service: gamma")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:11:9: services.beta.reads[0].service: "
        "unknown service 'gamma'; known: alpha, beta",
        # the FK that read allowed is now undeclared as well
        UNDECLARED_BETA_FK,
    ]


def test_unknown_service_in_a_read_of_the_real_catalogue(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    edit_service(file, "user", "      - service: auth\n", "      - service: authn\n")
    line = service_line(file, "user", "- service: authn")
    assert (
        f"catalogue.yaml:{line}:9: services.user.reads[0].service: unknown service 'authn'; "
        "known: application, auth, institution, internship, notification, user"
    ) in issues_of(root)


def test_self_read(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "- service: alpha", "- service: beta")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:11:9: services.beta.reads[0].service: "
        "a service does not declare reads of itself",
        UNDECLARED_BETA_FK,
    ]


def test_same_table_read_twice(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE + "      - {service: alpha, table: accounts, columns: [email]}\n"
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:15:26: services.beta.reads[1].table: "
        "alpha.accounts is read twice; merge the entries",
    ]


def test_empty_column_list(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "columns: [id, email]", "columns: []")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:13:9: services.beta.reads[0].columns: "
        "an empty column list grants nothing; drop the read instead",
    ]


def test_duplicate_schema(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "  beta:\n", "  beta:\n    schema: alpha_schema\n")
    assert (
        "catalogue.yaml:8:5: services.beta.schema: "
        "schema 'alpha_schema' is also used by services.alpha.schema"
    ) in issues_of(small_project(tmp_path, catalogue))


def test_duplicate_roles(tmp_path: Path) -> None:
    catalogue = edited(
        SMALL_CATALOGUE,
        "  beta:\n",
        "  beta:\n    group_role: alpha_service_role\n    login_role: alpha_service_role\n",
    )
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:8:5: services.beta.group_role: "
        "role 'alpha_service_role' is also used by services.alpha.group_role",
        "catalogue.yaml:9:5: services.beta.login_role: "
        "role 'alpha_service_role' is also used by services.alpha.group_role",
    ]


def test_group_and_login_role_of_one_service_must_differ(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "  beta:\n", "  beta:\n    login_role: beta_service_role\n")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:8:5: services.beta.login_role: "
        "role 'beta_service_role' is also used by services.beta.group_role",
    ]


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("schema", "Auth-Schema", "'Auth-Schema'"),
        ("schema", "a" * 64, repr("a" * 64)),
        ("group_role", '"x\\"y"', "'x\"y'"),
        ("login_role", '"beta; drop role x"', "'beta; drop role x'"),
        ("login_role", '"o\'neil"', '"o\'neil"'),
        ("schema", "1beta", "'1beta'"),
    ],
)
def test_invalid_identifier(tmp_path: Path, field: str, value: str, shown: str) -> None:
    catalogue = edited(SMALL_CATALOGUE, "  beta:\n", f"  beta:\n    {field}: {value}\n")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        f"catalogue.yaml:8:5: services.beta.{field}: {shown} {IDENTIFIER_RULE}"
    ]


def test_63_character_names_are_accepted(tmp_path: Path) -> None:
    name = "b" * 63
    catalogue = edited(SMALL_CATALOGUE, "  beta:\n", f"  beta:\n    login_role: {name}\n")
    loaded = load_catalogue(small_project(tmp_path, catalogue))
    assert loaded.services["beta"].login_role == name


def test_invalid_identifiers_as_keys_and_list_items(tmp_path: Path) -> None:
    catalogue = """\
        version: 1
        services:
          Auth-Service:
            tables:
              "users;drop": {secret_columns: ["pass'word"]}
          b:
            reads: [{service: a, table: "t\\"x"}]
    """
    assert issues_of(write_project(tmp_path, catalogue)) == [
        f"catalogue.yaml:3:3: services.Auth-Service: invalid name: 'Auth-Service' {IDENTIFIER_RULE}",
        f"catalogue.yaml:5:7: services.Auth-Service.tables.users;drop: invalid name: "
        f"'users;drop' {IDENTIFIER_RULE}",
        f"catalogue.yaml:5:39: services.Auth-Service.tables.users;drop.secret_columns[0]: "
        f'"pass\'word" {IDENTIFIER_RULE}',
        f"catalogue.yaml:7:26: services.b.reads[0].table: 't\"x' {IDENTIFIER_RULE}",
    ]


def test_a_long_service_name_asks_for_explicit_role_names(tmp_path: Path) -> None:
    """56 characters is a valid service name, but `<name>_service_role` (69) and
    `<name>_service` (64) exceed PostgreSQL's 63: check_names should say so, with position,
    instead of the loader crashing with a raw pydantic error."""
    name = "s" * 56
    catalogue = f"""\
        version: 1
        services:
          {name}:
            tables: {{t: {{}}}}
    """
    root = write_project(tmp_path, catalogue, {f"{name}/0001_baseline.sql": "create table t ();"})
    assert issues_of(root) == [
        f"catalogue.yaml:3:3: services.{name}.group_role: derived name "
        f"'{name}_service_role' is not a valid identifier; set group_role explicitly",
        f"catalogue.yaml:3:3: services.{name}.login_role: derived name "
        f"'{name}_service' is not a valid identifier; set login_role explicitly",
    ]


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("schema", "public"),
        ("schema", "auth"),
        ("schema", "pg_beta"),
        ("schema", "supabase_beta"),
        ("schema", "information_schema"),
        ("group_role", "postgres"),
        ("group_role", "pg_x"),
        ("group_role", "service_role"),
        ("login_role", "authenticator"),
        ("login_role", "public"),
        ("login_role", "supabase_admin"),
    ],
)
def test_reserved_names(tmp_path: Path, field: str, name: str) -> None:
    catalogue = edited(SMALL_CATALOGUE, "  beta:\n", f"  beta:\n    {field}: {name}\n")
    assert (
        f"catalogue.yaml:8:5: services.beta.{field}: '{name}' is reserved by PostgreSQL or Supabase"
    ) in issues_of(small_project(tmp_path, catalogue))


def test_read_of_a_table_that_does_not_exist(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "table: accounts", "table: acounts")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:12:9: services.beta.reads[0].table: "
        "unknown table alpha_schema.acounts; known: accounts, notes",
        UNDECLARED_BETA_FK,
    ]


def test_read_of_a_column_that_does_not_exist(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "columns: [id, email]", "columns: [id, mail]")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:13:23: services.beta.reads[0].columns[1]: "
        "unknown column alpha_schema.accounts.mail; known: id, email, password_hash",
    ]


def test_references_of_a_column_that_does_not_exist(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "references: [id]", "references: [id, uid]")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:14:26: services.beta.reads[0].references[1]: "
        "unknown column alpha_schema.accounts.uid; known: id, email, password_hash",
    ]


def test_secret_column_of_a_table_that_does_not_exist(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "secret_columns: [password_hash]", "secret_columns: [pw]")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:5:52: services.alpha.tables.accounts.secret_columns[0]: "
        "unknown column alpha_schema.accounts.pw; known: id, email, password_hash",
    ]


def test_read_of_a_secret_column(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "columns: [id, email]", "columns: [id, password_hash]")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:13:23: services.beta.reads[0].columns[1]: "
        "alpha_schema.accounts.password_hash is secret to alpha",
    ]


def test_read_of_a_secret_column_of_the_real_catalogue(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    edit_service(
        file, "user", "columns: [id, email, is_active]", "columns: [id, email, password_hash]"
    )
    line = service_line(file, "user", "columns: [id, email, password_hash]")
    assert issues_of(root) == [
        f"catalogue.yaml:{line}:30: services.user.reads[0].columns[2]: "
        "auth_schema.users.password_hash is secret to auth",
    ]


def test_references_on_a_secret_column(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "references: [id]", "references: [id, password_hash]")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:14:26: services.beta.reads[0].references[1]: "
        "alpha_schema.accounts.password_hash is secret to alpha",
    ]


def test_sensitive_table_read_without_columns(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "        columns: [id, email]\n", "")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:11:9: services.beta.reads[0]: "
        "alpha_schema.accounts is sensitive: list the columns to read",
    ]


def test_sensitive_table_read_without_columns_in_the_real_catalogue(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    # application's first read is user_profiles (sensitive)
    edit_service(file, "application", "        columns: [id, user_id, first_name, last_name]\n", "")
    line = service_line(file, "application", "- service: user")
    assert issues_of(root) == [
        f"catalogue.yaml:{line}:9: services.application.reads[0]: "
        "user_schema.user_profiles is sensitive: list the columns to read",
    ]


def test_a_whole_non_sensitive_table_may_be_read(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE + "      - {service: alpha, table: notes}\n"
    loaded = load_catalogue(small_project(tmp_path, catalogue))
    assert loaded.services["beta"].reads[1].columns is None


def test_cycle_between_two_services(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    append_to_service(
        file, "auth", "    reads:\n      - {service: user, table: user_profiles, columns: [id]}\n"
    )
    reads = service_line(file, "user", "\n    reads:") + 1
    assert issues_of(root) == [
        f"catalogue.yaml:{reads}:5: services.user.reads: reads form a cycle: user -> auth -> user",
    ]


def test_cycle_between_three_services(tmp_path: Path) -> None:
    # application reads user, user reads auth: auth reading application closes the loop.
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    append_to_service(
        file,
        "auth",
        "    reads:\n      - {service: application, table: application_status_history}\n",
    )
    reads = service_line(file, "application", "\n    reads:") + 1
    assert issues_of(root) == [
        f"catalogue.yaml:{reads}:5: services.application.reads: "
        "reads form a cycle: application -> user -> auth -> application",
    ]


def test_cycle_in_a_small_project(tmp_path: Path) -> None:
    catalogue = """\
        version: 1
        services:
          a:
            tables: {t: {}}
            reads: [{service: c, table: t3}]
          b:
            tables: {t2: {}}
            reads: [{service: a, table: t}]
          c:
            tables: {t3: {}}
            reads: [{service: b, table: t2}]
    """
    migrations = {
        "a/0001_a.sql": "create table t (id int);",
        "b/0001_b.sql": "create table t2 (id int);",
        "c/0001_c.sql": "create table t3 (id int);",
    }
    assert issues_of(write_project(tmp_path, catalogue, migrations)) == [
        "catalogue.yaml:5:5: services.a.reads: reads form a cycle: a -> c -> b -> a",
    ]


def test_unknown_field_in_a_service(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "    reads:\n", "    raeds: []\n    reads:\n")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:10:5: services.beta.raeds: unknown field",
    ]


def test_unknown_field_in_a_table_and_in_a_read(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "notes: {}", "notes: {sensitve: true}")
    catalogue = edited(catalogue, "        references: [id]\n", "        reference: [id]\n")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:6:15: services.alpha.tables.notes.sensitve: unknown field",
        "catalogue.yaml:14:9: services.beta.reads[0].reference: unknown field",
    ]


def test_missing_required_field_of_a_read(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "        table: accounts\n", "")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:11:9: services.beta.reads[0].table: required field is missing",
    ]


def test_unsupported_version_and_no_services(tmp_path: Path) -> None:
    assert issues_of(write_project(tmp_path / "v", "version: 2\nservices: {}\n")) == [
        "catalogue.yaml:1:1: version: Input should be less than or equal to 1",
    ]
    assert issues_of(write_project(tmp_path / "s", "version: 1\nservices: {}\n")) == [
        "catalogue.yaml:1:1: declares no service",
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "columns: [id, email]", "columns: [id, email")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:14:19: invalid YAML: expected ',' or ']', but got ':'",
    ]


def test_yaml_syntax_error_in_the_real_catalogue(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    edit_service(file, "notification", "notification_channels: {}", "notification_channels: {]")
    line = service_line(file, "notification", "notification_channels: {]")
    assert issues_of(root) == [
        f"catalogue.yaml:{line}:31: invalid YAML: expected the node content, but found ']'",
    ]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    catalogue = edited(SMALL_CATALOGUE, "      notes: {}\n", "      notes: {}\n      notes: {}\n")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:7:7: services.alpha.tables.notes: key appears twice",
    ]


def test_duplicate_service_in_the_real_catalogue(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    text = file.read_text()
    file.write_text(text + "\n  auth:\n    tables: {}\n")
    line = len(text.splitlines()) + 2
    assert issues_of(root) == [f"catalogue.yaml:{line}:3: services.auth: key appears twice"]


def test_several_catalogue_shape_problems_are_reported_together(tmp_path: Path) -> None:
    catalogue = """\
        version: 1
        services:
          alpha:
            schema: Alpha
            tabels: {}
            tables:
              accounts: {sensitive: yes please}
          beta:
            reads:
              - {service: alpha}
    """
    assert issues_of(write_project(tmp_path, catalogue)) == [
        f"catalogue.yaml:4:5: services.alpha.schema: 'Alpha' {IDENTIFIER_RULE}",
        "catalogue.yaml:5:5: services.alpha.tabels: unknown field",
        "catalogue.yaml:7:18: services.alpha.tables.accounts.sensitive: "
        "Input should be a valid boolean, unable to interpret input",
        "catalogue.yaml:10:9: services.beta.reads[0].table: required field is missing",
    ]


def _rls_catalogue(group_role: str, reader_role: str = "") -> str:
    """The small project (alpha.accounts is sensitive: RLS, an owner and a reader policy)
    with explicit group roles."""
    catalogue = SMALL_CATALOGUE.replace(
        "  alpha:\n", f"  alpha:\n    group_role: {group_role}\n", 1
    )
    if reader_role:
        catalogue = catalogue.replace("  beta:\n", f"  beta:\n    group_role: {reader_role}\n", 1)
    return catalogue


def test_a_derived_owner_policy_name_over_63_bytes_is_refused_at_group_role(
    tmp_path: Path,
) -> None:
    """`<group_role>_all` longer than 63 bytes would be truncated by PostgreSQL: the RLS
    resource would never find it by its name and show a diff on every run."""
    role = "g" * 60
    assert issues_of(small_project(tmp_path, _rls_catalogue(role))) == [
        f"catalogue.yaml:4:5: services.alpha.group_role: the owner policy name '{role}_all' "
        "derived from group_role is 64 bytes; PostgreSQL would truncate it to 63 and never "
        "find it again by its name: set a group_role of at most 59 characters",
    ]


def test_a_derived_reader_policy_name_over_63_bytes_is_refused_at_group_role(
    tmp_path: Path,
) -> None:
    reader = "r" * 59
    catalogue = _rls_catalogue("alpha_service_role", reader)
    assert issues_of(small_project(tmp_path, catalogue)) == [
        f"catalogue.yaml:9:5: services.beta.group_role: the reader policy name '{reader}_read' "
        "derived from group_role is 64 bytes; PostgreSQL would truncate it to 63 and never "
        "find it again by its name: set a group_role of at most 58 characters",
    ]


def test_derived_policy_names_of_63_bytes_are_accepted(tmp_path: Path) -> None:
    catalogue = _rls_catalogue("g" * 59, "r" * 58)
    loaded = load_catalogue(small_project(tmp_path, catalogue))
    assert loaded.services["alpha"].group_role == "g" * 59


def test_a_long_group_role_without_rls_needs_no_short_policy_name(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE.replace("{sensitive: true, ", "{").replace(
        "  alpha:\n", f"  alpha:\n    group_role: {'g' * 63}\n", 1
    )
    assert load_catalogue(small_project(tmp_path, catalogue)).services["alpha"].group_role
