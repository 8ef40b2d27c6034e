"""The real program, replayed onto a real PostgreSQL that emulates Supabase, then probed as
every service: what must work works, and what must fail fails with 42501."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from edulink_db.matrix import build_matrix
from edulink_db.project import Project
from tests.support.deploy import Deployment, sqlstate_of
from tests.support.probes import ProbeReport, probe_matrix
from tests.support.report import PROBE_COUNTS


def run_probes(prod: Deployment, project: Project) -> ProbeReport:
    return probe_matrix(prod.cluster, prod.database, prod.recording, project)


def test_every_matrix_cell_behaves_as_planned(prod: Deployment, project: Project) -> None:
    report = run_probes(prod, project)
    assert report.mismatches == []
    counts = report.count()
    assert counts["allowed"] > 1000 and counts["denied"] > 5000
    assert sum(counts.values()) == len(build_matrix(project.plan, project.catalogue.shapes))
    PROBE_COUNTS[f"PostgreSQL {prod.cluster.major}"] = counts


def test_a_manual_grant_makes_the_probes_fail(prod: Deployment, project: Project) -> None:
    """The probes can fail: widen one grant by hand and they name the secret column.

    Column-scoped on purpose: a table-level REVOKE would also take the planned column grants.
    """
    with prod.superuser() as conn:
        conn.execute("GRANT SELECT (password_hash) ON auth_schema.users TO user_service_role")
        try:
            report = run_probes(prod, project)
        finally:
            conn.execute(
                "REVOKE SELECT (password_hash) ON auth_schema.users FROM user_service_role"
            )
    assert any('"password_hash"' in m and m.startswith("user:") for m in report.mismatches)


def test_roles_have_exactly_the_planned_attributes(prod: Deployment, project: Project) -> None:
    with prod.superuser() as conn:
        for service in project.plan.services:
            for role in (service.group, service.login):
                row = conn.execute(
                    "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
                    " rolcanlogin, rolinherit, rolconnlimit, coalesce(rolconfig, '{}')"
                    " FROM pg_roles WHERE rolname = %s",
                    (role.name,),
                ).fetchone()
                assert row is not None, role.name
                assert row[:5] == (False, False, False, False, False), role.name
                assert row[5:8] == (role.login, True, role.connection_limit)
                expected = set()
                if role.login:
                    expected = {
                        f"search_path={service.schema.name}",
                        f"statement_timeout={role.statement_timeout_ms}",
                        f"idle_in_transaction_session_timeout={role.idle_in_transaction_session_timeout_ms}",
                        f"role={service.group.name}",
                    }
                assert set(row[8]) == expected, role.name


def test_a_login_session_acts_as_its_group_with_pinned_settings(
    prod: Deployment, project: Project
) -> None:
    """Defect 5: services log in, and their search_path and timeouts are pinned on the role,
    so they hold through a transaction pooler that drops session SETs."""
    for service in project.plan.services:
        with prod.login(service.name) as conn:
            row = conn.execute(
                "SELECT session_user, current_user, current_setting('search_path'),"
                " (SELECT setting FROM pg_settings WHERE name = 'statement_timeout')"
            ).fetchone()
        assert row == (
            service.login.name,
            service.group.name,
            service.schema.name,
            str(service.login.statement_timeout_ms),
        )


def test_a_wrong_password_is_refused(prod: Deployment) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(prod.cluster.dsn("auth_service", "not-the-password", prod.database))


def test_memberships_are_exactly_login_and_admin(prod: Deployment, project: Project) -> None:
    with prod.superuser() as conn:
        for service in project.plan.services:
            members = conn.execute(
                # DISTINCT: on 16+ the creator's implicit ADMIN grant is a second row for postgres.
                "SELECT DISTINCT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member"
                " JOIN pg_roles g ON g.oid = a.roleid WHERE g.rolname = %s ORDER BY 1",
                (service.group.name,),
            ).fetchall()
            assert [m for (m,) in members] == sorted([service.login.name, "postgres"])


def test_schemas_are_owned_by_their_group(prod: Deployment, project: Project) -> None:
    with prod.superuser() as conn:
        for service in project.plan.services:
            owners = conn.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
                " UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s",
                (service.schema.name, service.schema.name),
            ).fetchall()
            assert owners == [(service.group.name,)]


def test_nothing_is_granted_to_public(prod: Deployment, project: Project) -> None:
    schemas = [s.schema.name for s in project.plan.services]
    with prod.superuser() as conn:
        public = conn.execute(
            """
            SELECT 'schema ' || nspname FROM pg_namespace, aclexplode(nspacl) x
              WHERE nspname = ANY(%(s)s) AND x.grantee = 0
            UNION ALL SELECT 'relation ' || c.oid::regclass FROM pg_class c, aclexplode(c.relacl) x
              WHERE c.relnamespace::regnamespace::text = ANY(%(s)s) AND x.grantee = 0
            UNION ALL SELECT 'column ' || a.attname FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid, aclexplode(a.attacl) x
              WHERE c.relnamespace::regnamespace::text = ANY(%(s)s) AND x.grantee = 0
            """,
            {"s": schemas},
        ).fetchall()
        assert public == []
        conn.execute("CREATE ROLE edulink_outsider LOGIN PASSWORD 'outsider-pw'")
    try:
        dsn = prod.cluster.dsn("edulink_outsider", "outsider-pw", prod.database)
        with psycopg.connect(dsn, autocommit=True) as outsider:
            for service in project.plan.services:
                table = next(iter(project.catalogue.shapes[service.name].tables))
                statement = f"SELECT NULL::{service.schema.name}.{table}"
                assert sqlstate_of(outsider, statement) == "42501", statement
    finally:
        with prod.superuser() as conn:
            conn.execute("DROP ROLE edulink_outsider")


@pytest.fixture
def later_objects(prod: Deployment, project: Project) -> Iterator[None]:
    """Objects the auth service creates after the deploy, the way its Django migrations would."""
    with prod.login("auth") as conn:
        conn.execute("CREATE TABLE auth_schema.later_tokens (id int PRIMARY KEY, secret text)")
        conn.execute(
            "CREATE FUNCTION auth_schema.later_check() RETURNS int LANGUAGE sql AS 'SELECT 1'"
        )
        conn.execute("CREATE TYPE auth_schema.later_kind AS ENUM ('a', 'b')")
    try:
        yield
    finally:
        with prod.login("auth") as conn:
            conn.execute("DROP TABLE auth_schema.later_tokens")
            conn.execute("DROP FUNCTION auth_schema.later_check()")
            conn.execute("DROP TYPE auth_schema.later_kind")


@pytest.mark.usefixtures("later_objects")
def test_objects_created_later_belong_to_the_group_and_stay_private(
    prod: Deployment, project: Project
) -> None:
    """Defect 4: a table made later is the service's own (owned by its group, full DML) and
    nobody else's: no default privilege hands it to another service, and PUBLIC gets no
    EXECUTE on new functions nor USAGE on new types."""
    with prod.superuser() as conn:
        owners = conn.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'auth_schema.later_tokens'::regclass"
            " UNION ALL SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = 'auth_schema.later_check'::regproc"
        ).fetchall()
        assert owners == [("auth_service_role",), ("auth_service_role",)]
        public = conn.execute(
            "SELECT count(*) FROM pg_proc, aclexplode(proacl) x"
            " WHERE oid = 'auth_schema.later_check'::regproc AND x.grantee = 0"
            " UNION ALL SELECT count(*) FROM pg_type, aclexplode(typacl) x"
            " WHERE oid = 'auth_schema.later_kind'::regtype AND x.grantee = 0"
        ).fetchall()
        assert public == [(0,), (0,)]
    with prod.login("auth") as conn:
        assert sqlstate_of(conn, "INSERT INTO later_tokens VALUES (1, 's')") is None
        assert sqlstate_of(conn, "SELECT auth_schema.later_check()") is None
    # user holds USAGE on auth_schema, so only the object's own ACL stands in the way.
    with prod.login("user") as conn:
        assert sqlstate_of(conn, "SELECT secret FROM auth_schema.later_tokens") == "42501"
        assert sqlstate_of(conn, "SELECT auth_schema.later_check()") == "42501"
        # Type USAGE is checked where a type is used in DDL, not in a cast.
        statement = "CREATE TABLE user_schema.uses_kind (k auth_schema.later_kind)"
        assert sqlstate_of(conn, statement) == "42501"


def test_defect_2_a_table_grant_without_schema_usage_is_useless(
    prod: Deployment, project: Project
) -> None:
    """The seed granted SELECT on auth_schema.users without USAGE on auth_schema."""
    with prod.superuser() as conn:
        conn.execute("CREATE ROLE seed_user_service LOGIN PASSWORD 'seed-pw'")
        conn.execute("GRANT SELECT ON auth_schema.users TO seed_user_service")
    try:
        dsn = prod.cluster.dsn("seed_user_service", "seed-pw", prod.database)
        with (
            psycopg.connect(dsn, autocommit=True) as seed,
            pytest.raises(
                psycopg.errors.InsufficientPrivilege,
                match="permission denied for schema auth_schema",
            ),
        ):
            seed.execute("SELECT email FROM auth_schema.users")
    finally:
        with prod.superuser() as conn:
            conn.execute("DROP OWNED BY seed_user_service")
            conn.execute("DROP ROLE seed_user_service")
    with prod.login("user") as conn:
        assert conn.execute("SELECT count(email) FROM auth_schema.users").fetchone() == (0,)


def test_defect_3_cross_schema_foreign_keys_exist_where_declared_only(
    prod: Deployment, project: Project
) -> None:
    """The seed's FKs lacked USAGE and REFERENCES; ours were created by the migrations, as the
    owning group, exactly where the catalogue declares `references`."""
    schemas = {s.schema.name: s.name for s in project.plan.services}
    with prod.superuser() as conn:
        rows = conn.execute(
            "SELECT c.connamespace::regnamespace::text, t.relnamespace::regnamespace::text, t.relname"
            " FROM pg_constraint c JOIN pg_class t ON t.oid = c.confrelid"
            " WHERE c.contype = 'f' AND c.connamespace <> t.relnamespace"
        ).fetchall()
    found = {(schemas[own], schemas[other], table) for own, other, table in rows}
    declared = {
        (s.name, r.service, r.table)
        for s in project.catalogue.services.values()
        for r in s.reads
        if r.references
    }
    assert found == declared
    with prod.login("notification") as conn:  # reads user_profiles, no references
        statement = "CREATE TABLE notification_schema.probe (p uuid REFERENCES user_schema.user_profiles (id))"
        assert sqlstate_of(conn, statement) == "42501"


def test_defect_8_secret_columns_are_never_readable_across_services(
    prod: Deployment, project: Project
) -> None:
    with prod.login("user") as conn:
        assert sqlstate_of(conn, "SELECT id, email, is_active FROM auth_schema.users") is None
        assert sqlstate_of(conn, "SELECT password_hash FROM auth_schema.users") == "42501"
        assert sqlstate_of(conn, "SELECT * FROM auth_schema.users") == "42501"
    for service in project.catalogue.services.values():
        for name, spec in service.tables.items():
            for column in spec.secret_columns:
                for reader in project.plan.services:
                    if reader.name == service.name:
                        continue
                    with prod.login(reader.name) as conn:
                        statement = (
                            sql.SQL("SELECT {} FROM {}")
                            .format(
                                sql.Identifier(column), sql.Identifier(service.schema_name, name)
                            )
                            .as_string(conn)
                        )
                        assert sqlstate_of(conn, statement) == "42501", (reader.name, statement)
