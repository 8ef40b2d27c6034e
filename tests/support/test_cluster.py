"""The disposable Supabase-like cluster behaves as the rest of the suite relies on.

Real servers only: each test runs against PostgreSQL of every major in `versions_to_test()`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.cluster import (
    ADMIN_PASSWORD,
    AUTHENTICATOR_PASSWORD,
    EMULATION_ROLES,
    VERSIONS_ENV,
    Cluster,
    ClusterError,
    cluster_base_dir,
    start_cluster,
    versions_to_test,
)

pytestmark = pytest.mark.database

VERSIONS = versions_to_test()


@pytest.fixture(scope="module", params=VERSIONS, ids=lambda v: f"pg{v}")
def local_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A cluster started here, even if EDULINK_TEST_DSN is set: this module tests start_cluster.

    Not under pytest's basetemp, which another pytest run on the machine makes 0700 again,
    locking the server's OS user out of its own data directory.
    """
    major: int = request.param
    with cluster_base_dir(major) as base, start_cluster(major, base) as started:
        yield started


@pytest.fixture
def database(local_cluster: Cluster) -> Iterator[str]:
    """A fresh emulated database; everything the test created is reset afterwards."""
    yield local_cluster.create_database()
    local_cluster.reset()


def test_admin_is_the_emulated_non_superuser_postgres(
    local_cluster: Cluster, database: str
) -> None:
    with psycopg.connect(local_cluster.admin_dsn(database)) as conn:
        row = conn.execute(
            "select current_user, rolsuper, rolcreaterole, rolcreatedb, rolreplication,"
            " rolbypassrls from pg_roles where rolname = current_user"
        ).fetchone()
    assert row == ("postgres", False, True, True, True, True)


def test_emulation_roles_exist_and_authenticator_logs_in(
    local_cluster: Cluster, database: str
) -> None:
    with psycopg.connect(
        local_cluster.dsn("authenticator", AUTHENTICATOR_PASSWORD, database)
    ) as conn:
        assert conn.execute("select current_user").fetchone() == ("authenticator",)
        names = {r[0] for r in conn.execute("select rolname from pg_roles").fetchall()}
        conn.execute("set role authenticated")  # PostgREST's switch after checking a JWT
    assert set(EMULATION_ROLES) <= names
    assert "supabase_admin" in names


def test_superuser_is_supabase_admin_and_password_protected(local_cluster: Cluster) -> None:
    with psycopg.connect(local_cluster.superuser_dsn()) as conn:
        row = conn.execute(
            "select current_user, rolsuper from pg_roles where rolname = current_user"
        ).fetchone()
    assert row == ("supabase_admin", True)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(local_cluster.dsn("supabase_admin", "wrong", "postgres")).close()


def test_auth_uid_reads_jwt_claims_only_inside_the_transaction(
    local_cluster: Cluster, database: str
) -> None:
    sub = uuid.uuid4()
    # autocommit, so that conn.transaction() is a real BEGIN/COMMIT rather than a savepoint
    # inside an implicit transaction (set_config(..., true) outlives a released savepoint).
    with psycopg.connect(local_cluster.admin_dsn(database), autocommit=True) as conn:
        assert conn.execute("select auth.uid()").fetchone() == (None,)
        with conn.transaction():
            conn.execute("set local role authenticated")
            conn.execute(
                "select set_config('request.jwt.claims', %s, true)",
                [f'{{"sub":"{sub}","role":"authenticated"}}'],
            )
            row = conn.execute("select auth.uid(), auth.role(), auth.jwt() ->> 'sub'").fetchone()
            assert row == (sub, "authenticated", str(sub))
        assert conn.execute("select auth.uid()").fetchone() == (None,)


def test_auth_functions_are_owned_by_supabase_auth_admin(
    local_cluster: Cluster, database: str
) -> None:
    with psycopg.connect(local_cluster.superuser_dsn(database)) as conn:
        owners = conn.execute(
            "select p.proname, p.proowner::regrole::text from pg_proc p"
            " where p.pronamespace = 'auth'::regnamespace order by 1"
        ).fetchall()
    assert owners == [
        ("jwt", "supabase_auth_admin"),
        ("role", "supabase_auth_admin"),
        ("uid", "supabase_auth_admin"),
    ]


def test_postgres_owns_the_database_and_creates_in_public(
    local_cluster: Cluster, database: str
) -> None:
    with psycopg.connect(local_cluster.admin_dsn(database)) as conn:
        owner = conn.execute(
            "select datdba::regrole::text from pg_database where datname = current_database()"
        ).fetchone()
        conn.execute("create table public.t (id int)")
        conn.execute("create schema svc")
    assert owner == ("postgres",)


def test_server_major_matches(local_cluster: Cluster) -> None:
    with psycopg.connect(local_cluster.superuser_dsn()) as conn:
        row = conn.execute("show server_version_num").fetchone()
    assert row is not None
    assert int(row[0]) // 10000 == local_cluster.major


def test_reset_removes_test_roles_their_objects_and_databases(local_cluster: Cluster) -> None:
    dbname = local_cluster.create_database()
    with psycopg.connect(local_cluster.admin_dsn(dbname), autocommit=True) as admin:
        admin.execute("create role auth_service_role nologin")
        admin.execute("create role auth_service login password 'svc-pw' in role auth_service_role")
        admin.execute("grant auth_service_role to postgres")
        admin.execute("create schema auth_schema authorization auth_service_role")
        admin.execute("create table auth_schema.users (id uuid primary key)")
        admin.execute("alter table auth_schema.users owner to auth_service_role")
    with psycopg.connect(local_cluster.superuser_dsn(), autocommit=True) as su:
        # Objects and grants in a database that reset() keeps, so DROP OWNED must run there.
        su.execute("create table public.leftover (id int)")
        su.execute("alter table public.leftover owner to auth_service_role")
        su.execute("grant connect on database postgres to auth_service")
    lingering = psycopg.connect(local_cluster.dsn("auth_service", "svc-pw", "postgres"))

    local_cluster.reset()

    with psycopg.connect(local_cluster.superuser_dsn()) as su:
        roles = {r[0] for r in su.execute("select rolname from pg_roles").fetchall()}
        dbs = {r[0] for r in su.execute("select datname from pg_database").fetchall()}
        leftover = su.execute("select to_regclass('public.leftover')").fetchone()
    assert "auth_service_role" not in roles
    assert "auth_service" not in roles
    assert set(EMULATION_ROLES) <= roles
    assert dbname not in dbs
    assert leftover == (None,)
    with pytest.raises(psycopg.OperationalError):
        lingering.execute("select 1")
    lingering.close()
    # The baseline still works after a reset.
    again = local_cluster.create_database()
    with psycopg.connect(local_cluster.admin_dsn(again)) as conn:
        assert conn.execute("select auth.uid()").fetchone() == (None,)
    local_cluster.reset()


def _roles_and_databases(cluster: Cluster) -> tuple[set[str], set[str]]:
    with psycopg.connect(cluster.superuser_dsn()) as su:
        roles = {r[0] for r in su.execute("select rolname from pg_roles").fetchall()}
        dbs = {r[0] for r in su.execute("select datname from pg_database").fetchall()}
    return roles, dbs


def test_isolated_drops_what_its_block_made_and_keeps_what_an_outer_block_holds(
    local_cluster: Cluster,
) -> None:
    with psycopg.connect(local_cluster.superuser_dsn(), autocommit=True) as su:
        su.execute("create role left_behind nologin")  # by code that holds no block
    with local_cluster.isolated():
        assert "left_behind" not in _roles_and_databases(local_cluster)[0]
        outer = local_cluster.create_database()
        with psycopg.connect(local_cluster.admin_dsn(outer), autocommit=True) as admin:
            admin.execute("create role outer_role nologin")
        with local_cluster.isolated():
            inner = local_cluster.create_database()
            with psycopg.connect(local_cluster.superuser_dsn(inner), autocommit=True) as su:
                su.execute("create role inner_role nologin")
                su.execute("create schema inner_schema authorization inner_role")
            with psycopg.connect(local_cluster.superuser_dsn(outer), autocommit=True) as su:
                # Held in the outer database and on a shared object: DROP OWNED must reach both.
                su.execute("create table public.t (id int)")
                su.execute("grant select on public.t to inner_role")
                su.execute(f'grant connect on database "{outer}" to inner_role')
        roles, dbs = _roles_and_databases(local_cluster)
        assert ("inner_role" in roles, inner in dbs) == (False, False)
        assert ("outer_role" in roles, outer in dbs) == (True, True)
        with psycopg.connect(local_cluster.superuser_dsn(outer)) as su:
            grantees = su.execute(
                "select distinct a.grantee::regrole::text from pg_class c, aclexplode(c.relacl) a"
                " where c.relname = 't'"
            ).fetchall()
        assert grantees == [("supabase_admin",)]  # the grant went with the role, not dangling
    roles, dbs = _roles_and_databases(local_cluster)
    assert ("outer_role" in roles, outer in dbs) == (False, False)
    assert set(EMULATION_ROLES) <= roles
    # What every database is copied from stays, and copies work after the blocks.
    again = local_cluster.create_database()
    with psycopg.connect(local_cluster.admin_dsn(again)) as conn:
        assert conn.execute("select auth.uid()").fetchone() == (None,)
    local_cluster.reset()


def test_from_dsn_attaches_without_owning_the_server(local_cluster: Cluster) -> None:
    attached = Cluster.from_dsn(local_cluster.superuser_dsn())
    assert attached.major == local_cluster.major
    assert not attached.owns_server
    dbname = attached.create_database()
    with psycopg.connect(attached.admin_dsn(dbname)) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)
    attached.stop()  # resets only: the database goes, the server stays up
    with psycopg.connect(local_cluster.superuser_dsn()) as conn:
        gone = conn.execute("select 1 from pg_database where datname = %s", [dbname]).fetchone()
    assert gone is None


@pytest.mark.parametrize("major", VERSIONS, ids=lambda v: f"pg{v}")
def test_stop_shuts_down_and_removes_the_data_dir(major: int) -> None:
    with cluster_base_dir(major) as base:
        with start_cluster(major, base) as started:
            data_dir = started.data_dir
            assert data_dir is not None and (data_dir / "PG_VERSION").is_file()
            dsn = started.admin_dsn("postgres")
            with psycopg.connect(dsn) as conn:
                conn.execute("select 1")
        assert not data_dir.exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(dsn, connect_timeout=3).close()
        assert list(base.iterdir()) == []


def test_versions_to_test_reads_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VERSIONS_ENV, raising=False)
    assert versions_to_test() == [15, 17]  # the majors Supabase hosts
    monkeypatch.setenv(VERSIONS_ENV, "15,16,17")
    assert versions_to_test() == [15, 16, 17]
    monkeypatch.setenv(VERSIONS_ENV, " 16, 15,16 ")
    assert versions_to_test() == [16, 15]
    monkeypatch.setenv(VERSIONS_ENV, "15,sixteen")
    with pytest.raises(ClusterError, match="'sixteen' is not a major version"):
        versions_to_test()


def test_admin_password_constant_is_what_the_server_accepts(local_cluster: Cluster) -> None:
    with psycopg.connect(local_cluster.dsn("postgres", ADMIN_PASSWORD, "postgres")) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_tls_where_the_build_supports_it(local_cluster: Cluster, database: str) -> None:
    """Debian's 15 and npm's 17 serve TLS only, with the certificate made at start-up, and
    every DSN of the cluster asks for it; pgserver's 16 has no SSL and stays plain."""
    dsn = local_cluster.admin_dsn(database)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select current_setting('ssl'), ssl from pg_stat_ssl where pid = pg_backend_pid()"
        ).fetchone()
    if local_cluster.major == 16:
        assert (local_cluster.tls, local_cluster.sslmode, row) == (False, "disable", ("off", False))
        assert local_cluster.certificate is None
        with pytest.raises(psycopg.OperationalError, match="server does not support SSL"):
            psycopg.connect(dsn + " sslmode=require").close()
        return
    assert (local_cluster.tls, local_cluster.sslmode, row) == (True, "require", ("on", True))
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba.conf entry .* no encryption"):
        psycopg.connect(dsn + " sslmode=disable").close()
    # The certificate is its own CA and names 127.0.0.1: the strictest sslmode holds too.
    verified = f"{dsn} sslmode=verify-full sslrootcert={local_cluster.certificate}"
    with psycopg.connect(verified) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)
    with pytest.raises(psycopg.OperationalError, match=r"server certificate .* does not match"):
        psycopg.connect(f"{verified} host=db.example.invalid hostaddr=127.0.0.1").close()
