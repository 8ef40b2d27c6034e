"""Secrets stay secret: in error texts, reprs, CLI output and the suite's own output."""

from __future__ import annotations

import psycopg
import pytest

from edulink_db.connection import ConnectionSettings, connect
from tests import conftest
from tests.support.cluster import ADMIN_PASSWORD as CLUSTER_ADMIN_PASSWORD
from tests.support.program import ADMIN_PASSWORD, recorded
from tests.support.report import KNOWN_SECRETS, LEAKS, scan


def test_the_suite_knows_the_secrets_it_scans_for() -> None:
    """Not only the constants it registers itself: every password the program generated for a
    login, and the emulated admin's, or the scan would pass over them."""
    assert ADMIN_PASSWORD in KNOWN_SECRETS
    logins = recorded("prod").of_type("postgresql:index/role:Role")
    passwords = {str(r.inputs["password"]) for r in logins if r.inputs.get("password")}
    assert len(passwords) == 6  # one login per service, each its own
    assert passwords | {CLUSTER_ADMIN_PASSWORD} <= KNOWN_SECRETS


def test_a_secret_in_a_tests_output_fails_the_session() -> None:
    report = pytest.TestReport(
        "tests/x.py::t",
        ("x.py", 1, "t"),
        {},
        "passed",
        None,
        "call",
        sections=[("Captured stdout call", f"connecting with {ADMIN_PASSWORD}")],
    )
    before = len(LEAKS)
    try:
        conftest.pytest_runtest_logreport(report)
        assert len(LEAKS) == before + 1 and ADMIN_PASSWORD not in LEAKS[-1]
        scan("clean", "nothing to see")
        assert len(LEAKS) == before + 1
    finally:
        del LEAKS[before:]


def test_connection_settings_never_show_the_password() -> None:
    settings = ConnectionSettings("127.0.0.1", 1, "db", "postgres", ADMIN_PASSWORD, "disable")
    assert ADMIN_PASSWORD not in repr(settings) and ADMIN_PASSWORD not in str(settings)


def test_a_failed_connection_names_no_password() -> None:
    settings = ConnectionSettings("127.0.0.1", 1, "db", "postgres", ADMIN_PASSWORD, "disable")
    with pytest.raises(psycopg.OperationalError) as failure:
        connect(settings)
    assert ADMIN_PASSWORD not in str(failure.value)
