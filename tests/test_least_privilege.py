"""The least an admin needs to run the program: LOGIN, CREATEROLE, and the database owner's
rights (being its owner, as Supabase's `postgres` is, or a member of it); no SUPERUSER,
CREATEDB, REPLICATION or BYPASSRLS.

Why the owner's rights: the provider's Schema create borrows membership of the database
owner for CREATE SCHEMA (provider notes §4). PostgreSQL 15 lets any CREATEROLE role grant
itself that membership; 16 and 17 require ADMIN on the owner role, so there the admin must
hold the membership already. Each major is written out, so a new one is a decision, not an
assumption.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from edulink_db.project import Project, load_project
from tests.support.cluster import Cluster
from tests.support.probes import probe_matrix
from tests.support.program import ROOT, Recording, run_program, stack_config, with_admin_password
from tests.support.replay import replay

ADMIN, PASSWORD = "platform_admin", "platform-admin-pw-7Q"


def _program_for(admin: str) -> tuple[Recording, Project]:
    config, secret = with_admin_password(stack_config("prod"))
    target = json.loads(config["edulink-db:target"])
    config["edulink-db:target"] = json.dumps({**target, "adminUser": admin})
    return run_program("prod", config, secret), load_project(ROOT, "prod", config, secret)


@pytest.mark.parametrize(
    ("attributes", "owner_member", "fails_with"),
    [
        (
            "",
            True,
            {
                15: "permission denied to create role",
                16: "permission denied to create role",
                17: "permission denied to create role",
            },
        ),
        (
            "CREATEROLE",
            False,
            {
                15: None,
                16: 'permission denied to grant role "postgres"',
                17: 'permission denied to grant role "postgres"',
            },
        ),
        ("CREATEROLE", True, {15: None, 16: None, 17: None}),
    ],
    ids=["no-createrole", "createrole-only", "createrole-and-owner-membership"],
)
def test_the_least_an_admin_needs(
    pg_cluster: Cluster, attributes: str, owner_member: bool, fails_with: dict[int, str | None]
) -> None:
    pg_cluster.reset()
    database = pg_cluster.create_database()  # owned by postgres, as on Supabase
    with psycopg.connect(pg_cluster.superuser_dsn(database), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ADMIN} LOGIN {attributes} PASSWORD '{PASSWORD}'")
        if owner_member:
            conn.execute(f"GRANT postgres TO {ADMIN}")
    expected = fails_with[pg_cluster.major]
    recording, project = _program_for(ADMIN)
    connection = {
        "host": pg_cluster.host,
        "port": pg_cluster.port,
        "dbname": database,
        "user": ADMIN,
        "password": PASSWORD,
        "sslmode": pg_cluster.sslmode,
    }
    admin_dsn = pg_cluster.dsn(ADMIN, PASSWORD, database)
    if expected is not None:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=expected):
            replay(recording, admin_dsn, connection)
        return
    replay(recording, admin_dsn, connection)
    with psycopg.connect(pg_cluster.superuser_dsn(database)) as conn:
        attributes = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = %s",
            (ADMIN,),
        ).fetchone()
    assert attributes == (False, False, False, False)
    report = probe_matrix(pg_cluster, database, recording, project)
    assert report.mismatches == []
