"""compile_plan: deterministic, producers first, grants chained, read-only and column-scoped."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from edulink_db.catalogue.load import LoadedCatalogue, load_catalogue
from edulink_db.environment.load import load_environment
from edulink_db.environment.model import StackSettings
from edulink_db.plan.compile import compile_plan, dependency_order
from edulink_db.plan.model import AccessPlan, GrantPlan, WantedPrivilege
from tests.unit.unit_support import (
    REPO,
    SMALL_CATALOGUE,
    STACKS,
    copy_real_project,
    small_project,
    stack_config,
)

READ_ONLY = {"USAGE", "SELECT", "REFERENCES"}


def settings_of(stack: str) -> StackSettings:
    raw = {**stack_config(stack), "edulink-db:adminPassword": "x"}
    services = list(load_catalogue(REPO).services)
    return load_environment(stack, raw, ["edulink-db:adminPassword"], services).settings


@pytest.fixture(scope="module")
def loaded() -> LoadedCatalogue:
    return load_catalogue(REPO)


@pytest.fixture(scope="module", params=STACKS)
def plan(request: pytest.FixtureRequest, loaded: LoadedCatalogue) -> AccessPlan:
    return compile_plan(loaded, settings_of(request.param))


def test_same_inputs_give_equal_plans(loaded: LoadedCatalogue) -> None:
    settings = settings_of("prod")
    first = compile_plan(loaded, settings)
    assert compile_plan(loaded, settings) == first
    assert compile_plan(load_catalogue(REPO), settings_of("prod")) == first
    assert repr(compile_plan(loaded, settings)) == repr(first)


def test_the_order_of_services_in_the_file_does_not_change_the_plan(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    file = root / "catalogue.yaml"
    header, body = file.read_text().split("services:\n", 1)
    # one block per service: from its `  name:` line to the next one
    blocks = re.split(r"(?m)^(?=  [a-z_]+:$)", body.rstrip("\n") + "\n\n")
    assert blocks[0] == ""
    blocks = blocks[1:]
    assert len(blocks) == 6
    file.write_text(header + "services:\n" + "".join(reversed(blocks)))
    reordered = load_catalogue(root)
    assert next(iter(reordered.services)) == "internship"
    settings = settings_of("staging")
    assert compile_plan(reordered, settings) == compile_plan(load_catalogue(REPO), settings)


def test_services_are_ordered_producers_first(plan: AccessPlan, loaded: LoadedCatalogue) -> None:
    names = [s.name for s in plan.services]
    assert names == ["auth", "institution", "user", "application", "internship", "notification"]
    for position, name in enumerate(names):
        for read in loaded.services[name].reads:
            assert names.index(read.service) < position, (name, read.service)


def test_dependency_order_breaks_ties_by_name_and_rejects_cycles(tmp_path: Path) -> None:
    loaded = load_catalogue(small_project(tmp_path))
    assert dependency_order(loaded.services) == ["alpha", "beta"]
    cyclic = dict(loaded.services)
    alpha = cyclic["alpha"]
    cyclic["alpha"] = alpha.model_copy(update={"reads": cyclic["beta"].reads[:0]})
    assert dependency_order(cyclic) == ["alpha", "beta"]
    beta_read = cyclic["beta"].reads[0].model_copy(update={"service": "beta"})
    cyclic["alpha"] = alpha.model_copy(update={"reads": (beta_read,)})
    with pytest.raises(ValueError, match=r"reads form a cycle among \['alpha', 'beta'\]"):
        dependency_order(cyclic)


def test_grant_keys_are_unique(plan: AccessPlan) -> None:
    keys = [g.key for g in plan.grants]
    assert len(keys) == len(set(keys))


def test_grants_on_one_acl_object_form_a_single_chain(plan: AccessPlan) -> None:
    by_object: dict[tuple[str, str | None], list[GrantPlan]] = defaultdict(list)
    for grant in plan.grants:
        by_object[grant.acl_object].append(grant)
    seen: set[str] = set()
    position = {g.key: i for i, g in enumerate(plan.grants)}
    for grants in by_object.values():
        heads = [g for g in grants if g.after is None]
        assert len(heads) == 1, grants
        keys = {g.key for g in grants}
        afters = [g.after for g in grants if g.after is not None]
        # every link points at an earlier grant on the same object, and no grant is the
        # `after` of two others (which would let those two run in parallel)
        assert set(afters) <= keys
        assert len(afters) == len(set(afters)) == len(grants) - 1
        for grant in grants:
            if grant.after is not None:
                assert position[grant.after] < position[grant.key]
        seen |= keys
    assert seen == {g.key for g in plan.grants}


def test_chains_follow_plan_order(plan: AccessPlan) -> None:
    last: dict[tuple[str, str | None], str] = {}
    for grant in plan.grants:
        assert grant.after == last.get(grant.acl_object), grant
        last[grant.acl_object] = grant.key


def test_shared_producer_objects_are_chained_across_consumers(plan: AccessPlan) -> None:
    usage = [g for g in plan.grants if g.acl_object == ("institution_schema", None)]
    assert [(g.key, g.after) for g in usage] == [
        ("user-usage-institution_schema", None),
        ("application-usage-institution_schema", "user-usage-institution_schema"),
        ("internship-usage-institution_schema", "application-usage-institution_schema"),
    ]


def test_no_grant_writes(plan: AccessPlan) -> None:
    for grant in plan.grants:
        assert set(grant.privileges) <= READ_ONLY, grant
        assert not {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "ALL"} & set(grant.privileges)
        assert grant.producer != grant.consumer


def test_sensitive_tables_get_column_scoped_select(
    plan: AccessPlan, loaded: LoadedCatalogue
) -> None:
    checked = 0
    for grant in plan.grants:
        if grant.object_type == "schema":
            assert (grant.privileges, grant.table, grant.columns) == (("USAGE",), None, ())
            continue
        producer = loaded.services[grant.producer]
        assert grant.table is not None
        spec = producer.tables[grant.table]
        (read,) = [
            r
            for r in loaded.services[grant.consumer].reads
            if r.service == grant.producer and r.table == grant.table
        ]
        assert grant.grantee == loaded.services[grant.consumer].group_role
        assert grant.schema == producer.schema_name
        assert not set(grant.columns) & set(spec.secret_columns)
        if grant.privileges == ("SELECT",):
            if spec.sensitive:
                assert grant.object_type == "column"
            if read.columns is None:
                assert (grant.object_type, grant.columns) == ("table", ())
            else:
                assert (grant.object_type, grant.columns) == ("column", read.columns)
            checked += 1
        else:
            assert grant.privileges == ("REFERENCES",)
            assert (grant.object_type, grant.columns) == ("column", read.references)
    assert checked == sum(len(s.reads) for s in loaded.services.values())


def test_references_only_where_declared(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE.replace("        references: [id]\n", "")
    catalogue += "      - {service: alpha, table: notes}\n"
    beta = "create table profiles (id int primary key);\n"
    loaded = load_catalogue(small_project(tmp_path, catalogue, beta=beta))
    plan = compile_plan(loaded, StackSettings(target={"host": "h"}))
    assert [(g.key, g.object_type, g.columns, g.privileges, g.after) for g in plan.grants] == [
        ("beta-usage-alpha_schema", "schema", (), ("USAGE",), None),
        ("beta-select-alpha_schema-accounts", "column", ("id", "email"), ("SELECT",), None),
        ("beta-select-alpha_schema-notes", "table", (), ("SELECT",), None),
    ]
    assert plan.service("beta").migrations.after_grants == ("beta-usage-alpha_schema",)


def test_the_wanted_acl_is_every_grant_one_privilege_at_a_time(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE + "      - {service: alpha, table: notes}\n"
    loaded = load_catalogue(small_project(tmp_path, catalogue))
    plan = compile_plan(loaded, StackSettings(target={"host": "h"}))
    role, schema = "beta_service_role", "alpha_schema"
    assert plan.wanted_acl() == {
        WantedPrivilege(role, schema, None, "USAGE"),
        WantedPrivilege(role, schema, "accounts", "SELECT", ("id", "email")),
        WantedPrivilege(role, schema, "accounts", "REFERENCES", ("id",)),
        WantedPrivilege(role, schema, "notes", "SELECT"),
    }
    for grant in plan.grants:
        assert [(w.object_type, w.privilege) for w in grant.wanted] == [
            (grant.object_type, p) for p in grant.privileges
        ]


def test_small_project_plan(tmp_path: Path) -> None:
    loaded = load_catalogue(small_project(tmp_path))
    settings = StackSettings(
        target={"host": "h", "adminUser": "admin"}, limits={"connectionLimit": 3}
    )
    plan = compile_plan(loaded, settings)
    assert (plan.database, plan.admin_role, plan.protected, plan.disposable) == (
        "postgres",
        "admin",
        True,
        False,
    )
    beta = plan.service("beta")
    assert [(g.key, g.after) for g in beta.grants] == [
        ("beta-usage-alpha_schema", None),
        ("beta-select-alpha_schema-accounts", None),
        ("beta-references-alpha_schema-accounts", "beta-select-alpha_schema-accounts"),
    ]
    assert beta.migrations.after_services == ("alpha",)
    assert beta.migrations.after_grants == (
        "beta-usage-alpha_schema",
        "beta-references-alpha_schema-accounts",
    )
    assert [s.file_name for s in beta.migrations.steps] == ["0001_baseline.sql"]
    assert beta.schema.owner == "beta_service_role"
    assert beta.login.connection_limit == 3
    assert beta.login.search_path == ("beta_schema",)
    assert beta.login.assume_role == "beta_service_role"
    assert [(m.member, m.group) for m in beta.memberships] == [
        ("beta_service", "beta_service_role"),
        ("admin", "beta_service_role"),
    ]
    assert plan.service("alpha").grants == ()


def test_default_privileges_only_revoke_from_public(plan: AccessPlan) -> None:
    for service in plan.services:
        assert [(d.key, d.object_type) for d in service.default_privileges] == [
            (f"{service.name}-revoke-public-functions", "function"),
            (f"{service.name}-revoke-public-types", "type"),
        ]
        for default in service.default_privileges:
            assert default.grantee == "public"
            assert default.privileges == ()
            assert default.owner == service.group.name
            assert default.schema is None


def test_roles_carry_no_dangerous_attribute(plan: AccessPlan) -> None:
    for service in plan.services:
        for role in (service.group, service.login):
            assert not (
                role.superuser
                or role.create_database
                or role.create_role
                or role.replication
                or role.bypass_row_level_security
            )
        assert not service.group.login
        assert service.login.login


def test_limits_come_from_the_stack() -> None:
    plan = compile_plan(load_catalogue(REPO), settings_of("prod"))
    auth, user, other = plan.service("auth"), plan.service("user"), plan.service("internship")
    assert (auth.login.connection_limit, auth.login.statement_timeout_ms) == (10, 5000)
    assert (user.login.connection_limit, user.login.statement_timeout_ms) == (8, 20000)
    assert (other.login.connection_limit, other.login.statement_timeout_ms) == (6, 20000)
    assert other.login.idle_in_transaction_session_timeout_ms == 30000
