"""Hostile and malformed input, generated: every case either stops at validation with the
field named and nothing registered, or deploys to exactly the declared access matrix.

Names are drawn from the awkward corners (quotes, semicolons, unicode, reserved words, 63
and 64 characters, upper case); read graphs at random (self-reads, cycles, missing tables
and columns, secret columns); policy expressions from injection attempts.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edulink_db.catalogue.checks import RESERVED_SCHEMAS
from edulink_db.identifiers import is_identifier
from edulink_db.project import load_project
from edulink_db.stackfile import read_stack_config
from tests.support.cluster import Cluster
from tests.support.deploy import admin_connection
from tests.support.miniproject import COLUMNS, MiniService, write_project
from tests.support.probes import probe_matrix
from tests.support.program import PROJECT, Recording, run_program
from tests.support.replay import replay

ROOT = Path(__file__).resolve().parents[1]
AWKWARD = [
    'ab"c',
    "a;b",
    "drop table x",
    "a b",
    "Upper",
    "ümlaut",
    "select",
    "user",
    "table",
    "1abc",
    "a" * 63,
    "a" * 64,
    "",
    "pg_catalog",
    "public",
    "a-b",
    "a.b",
    "x'y",
    "$$",
    "_ok",
    "ok_9",
]
names = st.one_of(st.sampled_from(AWKWARD), st.text(min_size=0, max_size=70))
PROFILE = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def _run(folder: Path) -> tuple[Recording, BaseException | None]:
    config, secret = read_stack_config(folder, "test")
    config[f"{PROJECT}:adminPassword"] = "hostile-test-admin-pw"
    recording = Recording("test")
    try:
        run_program(
            "test",
            config,
            [*secret, f"{PROJECT}:adminPassword"],
            program=folder / "__main__.py",
            recording=recording,
        )
    except Exception as error:
        return recording, error
    return recording, None


def _registered(recording: Recording) -> list[Any]:
    return [r for r in recording.resources if not r.type.startswith("pulumi:pulumi:")]


@PROFILE
@given(where=st.sampled_from(["service", "schema", "table", "column", "policy"]), name=names)
def test_awkward_names_are_refused_by_field_or_used_quoted(
    where: str, name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    services = [
        MiniService("alpha"),
        MiniService(
            "beta", reads=[{"service": "alpha", "table": "items", "columns": ["id", "note"]}]
        ),
    ]
    if where == "service":
        services[0] = MiniService(name)
        services[1].reads[0]["service"] = name
    elif where == "schema":
        services[0].schema = name
    elif where == "table":
        services[0].table = name
        services[1].reads[0]["table"] = name
    elif where == "column":
        services[1].reads[0]["columns"] = ["id", name]
    else:
        services[0].policies = [
            {"name": name, "command": "select", "roles": ["alpha"], "using": "true"}
        ]
    folder = write_project(tmp_path_factory.mktemp("hostile"), services, ROOT)
    recording, error = _run(folder)
    if error is None:
        assert is_identifier(name), f"{name!r} accepted as {where}"
        assert where != "column" or name in COLUMNS, f"{name!r} accepted as a column"
        for resource in _registered(recording):
            for key in ("name", "role", "owner", "schema"):
                value = resource.inputs.get(key)
                if not isinstance(value, str) or (value == "public" and key == "role"):
                    continue
                assert is_identifier(value), (key, value)
                if key == "schema" or resource.type.endswith("schema:Schema"):
                    assert value not in RESERVED_SCHEMAS and not value.startswith("pg_"), value
        return
    assert _registered(recording) == [], "a refused input registered resources"
    text = str(error)
    assert "nothing was applied" in text
    expected = {
        "service": "services",
        "schema": ".schema",
        "table": "tables",
        "column": "reads[0].columns[1]",
        "policy": "policies[0].name",
    }[where]
    assert expected in text, text


ACCEPTED = [
    ("schema", "user"),
    ("schema", "select"),
    ("table", "select"),
    ("table", "user"),
    ("table", "t" * 63),
    ("policy", "table"),
    ("service", "order"),
]


@pytest.mark.parametrize(("where", "name"), ACCEPTED, ids=lambda v: v[:12])
def test_accepted_awkward_names_deploy_to_exactly_the_declared_matrix(
    where: str, name: str, tmp_path: Path, pg_cluster: Cluster
) -> None:
    """Reserved words and 63-byte names pass validation: they must then work everywhere,
    quoted in every statement, and give the planned access, no more."""
    alpha = MiniService("alpha")
    beta_reads = [{"service": "alpha", "table": "items", "columns": ["id", "note"]}]
    if where == "schema":
        alpha.schema = name
    elif where == "table":
        alpha.table = name
        beta_reads[0]["table"] = name
    elif where == "policy":
        alpha.policies = [{"name": name, "command": "select", "roles": ["alpha"], "using": "true"}]
    else:
        alpha.name = name
        beta_reads[0]["service"] = name
    services = [alpha, MiniService("beta", reads=beta_reads)]
    folder = write_project(tmp_path, services, ROOT)
    recording, error = _run(folder)
    assert error is None, error
    config, secret = read_stack_config(folder, "test")
    project = load_project(folder, "test", config, secret, require_secrets=False)
    database, statements = _deploy(pg_cluster, recording)
    unquoted = re.compile(rf'(?<!["\w]){re.escape(name)}(?![\w"])')
    assert [s for s in statements if unquoted.search(s)] == []
    if where == "policy":  # created by the RowLevelSecurity provider, not in the replay's log
        with psycopg.connect(pg_cluster.superuser_dsn(database)) as conn:
            found = conn.execute(
                "SELECT count(*) FROM pg_policies WHERE policyname = %s", (name,)
            ).fetchone()
        assert found == (1,)
    else:
        used = f"{name}_schema" if where == "service" else name
        assert any(f'"{used}"' in s for s in statements)
    report = probe_matrix(pg_cluster, database, recording, project)
    assert report.mismatches == []
    assert report.count()["allowed"] > 0 and report.count()["denied"] > 0


EXPRESSIONS = [
    "true) ; drop table x; --",
    "true); DROP TABLE alpha_schema.items; --",
    "$$ drop table x $$",
    "true /* comment */",
    "/* ) ; drop table x; */ true",
    "true -- trailing comment",
    "owner_id = current_setting('app.user', true)::uuid",
    "true) WITH CHECK (false",
    "(select true)",
    "note = $q$it's$q$",
    "1 = 1; select 1",
    "",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_policy_expressions_are_one_expression_or_refused(
    expression: str, tmp_path: Path, pg_cluster: Cluster
) -> None:
    services = [
        MiniService(
            "alpha",
            policies=[
                {
                    "name": "alpha_extra",
                    "command": "select",
                    "roles": ["alpha"],
                    "restrictive": True,
                    "using": expression,
                }
            ],
        )
    ]
    folder = write_project(tmp_path, services, ROOT)
    recording, error = _run(folder)
    if error is not None:
        assert "services.alpha.tables.items.policies[0].using: expression" in str(error)
        assert _registered(recording) == []
        return
    pg_cluster.reset()
    database = pg_cluster.create_database()
    try:
        replay(recording, pg_cluster.admin_dsn(database), admin_connection(pg_cluster, database))
        refused_by_server = False
    except psycopg.errors.DataError:
        # One expression, but not a boolean one (a dollar-quoted string): only the server can
        # tell, and its refusal rolls the whole RLS resource back.
        refused_by_server = True
    with psycopg.connect(pg_cluster.superuser_dsn(database)) as conn:
        qual = conn.execute(
            "SELECT qual FROM pg_policies WHERE policyname = 'alpha_extra'"
        ).fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'alpha_schema'"
        ).fetchone()
    assert tables == (2,)  # items and the history: nothing dropped
    if refused_by_server:
        assert qual is None
        return
    assert qual is not None and "drop" not in str(qual[0]).lower()
    config, secret = read_stack_config(folder, "test")
    project = load_project(folder, "test", config, secret, require_secrets=False)
    assert probe_matrix(pg_cluster, database, recording, project).mismatches == []


def _deploy(pg_cluster: Cluster, recording: Recording) -> tuple[str, list[str]]:
    pg_cluster.reset()
    database = pg_cluster.create_database()
    log = replay(recording, pg_cluster.admin_dsn(database), admin_connection(pg_cluster, database))
    return database, log.statements


def reads_of(likely: list[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Mostly valid reads of `likely` producers, sometimes of itself, of an unknown service,
    a missing table, a missing or secret column, or with a reference to a non-key column."""
    return st.lists(
        st.fixed_dictionaries(
            {
                "service": st.sampled_from([*likely * 12, "alpha", "beta", "gamma", "delta"]),
                "table": st.sampled_from(["items"] * 15 + ["missing"]),
                "columns": st.lists(
                    st.sampled_from(["id", "owner_id", "note"] * 10 + ["secret", "nope"]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                ),
                "references": st.sampled_from([[]] * 6 + [["id"]] * 6 + [["note"]]),
            }
        ),
        max_size=2,
        unique_by=lambda read: read["service"],
    )


@settings(
    deadline=None,
    max_examples=20,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # alpha reads nothing most of the time: any read of its own is a self-read or a cycle risk
    alpha=st.one_of(st.just([]), st.just([]), reads_of(["beta"])),
    beta=reads_of(["alpha"]),
    gamma=reads_of(["alpha", "beta"]),
)
def test_random_read_graphs_validate_or_deploy_exactly(
    alpha: list[dict[str, Any]],
    beta: list[dict[str, Any]],
    gamma: list[dict[str, Any]],
    pg_cluster: Cluster,
) -> None:
    services = [
        MiniService("alpha", reads=alpha),
        MiniService("beta", reads=beta),
        MiniService("gamma", reads=gamma),
    ]
    with tempfile.TemporaryDirectory() as folder:
        root = write_project(Path(folder), services, ROOT)
        recording, error = _run(root)
        if error is not None:
            assert isinstance(error, Exception) and "nothing was applied" in str(error)
            assert re.search(
                r"(services\.\w+\.reads|migrations/\w+/0001_baseline\.sql)", str(error)
            ), str(error)
            assert _registered(recording) == []
            event("refused by validation")
            return
        event("deployed and probed")
        config, secret = read_stack_config(root, "test")
        project = load_project(root, "test", config, secret, require_secrets=False)
    database, statements = _deploy(pg_cluster, recording)
    for name in ("alpha", "beta", "gamma"):
        for statement in statements:  # every catalogue name reaches SQL quoted
            assert not re.search(
                rf'(?<!["\w]){name}_(schema|service_role|service)\b(?!")', statement
            ), statement
    report = probe_matrix(pg_cluster, database, recording, project)
    assert report.mismatches == []
