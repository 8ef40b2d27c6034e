"""Renderers: valid JSON and SARIF 2.1.0, a readable table and Markdown, and `exceeds`.

Rendering is pure, so these tests build reports directly; what a real audit produces is
covered by the scenarios, and one real report is rendered at the end.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from edulink_db.audit import FORMATS, render
from edulink_db.audit.report import AuditReport, exceeds
from edulink_db.audit.rules import RULES
from edulink_db.finding import Finding, Level, NotEvaluated
from tests.audit.conftest import Audit
from tests.support.deploy import Deployment

REPORT = AuditReport(
    findings=[
        Finding(
            "DR08",
            Level.error,
            "column auth_schema.users.password_hash",
            "user_service_role holds SELECT, which the plan does not grant",
            "REVOKE SELECT (password_hash) ON TABLE auth_schema.users FROM user_service_role",
        ),
        Finding(
            "DR03",
            Level.warning,
            "role auth_service",
            "connection limit is 50, the plan says 10",
            "ALTER ROLE auth_service CONNECTION LIMIT 10; or run `pulumi up --refresh`",
        ),
        Finding(
            "DR16",
            Level.info,
            "table notification_schema.scratch",
            "table scratch | with a pipe",
            "Add a migration.",
        ),
    ],
    not_evaluated=[
        NotEvaluated(
            "DR17",
            "table auth_schema.edulink_migrations",
            "auditor may not read auth_schema.edulink_migrations",
        )
    ],
    queries=11,
    database="postgres",
    server_version="15.8",
    user="auditor",
    rules=[rule.code for rule in RULES],
)

CLEAN = AuditReport(findings=[], not_evaluated=[], queries=11, database="postgres")


def test_levels_are_ordered_by_severity_not_alphabet() -> None:
    assert Level.error > Level.warning > Level.info
    assert Level.info < "warning" and Level.error >= "error"
    assert sorted([Level.warning, Level.error, Level.info]) == [
        Level.info,
        Level.warning,
        Level.error,
    ]


@pytest.mark.parametrize(
    ("fail_on", "fail_on_unknown", "expected"),
    [
        ("error", True, True),
        ("error", False, True),
        (Level.info, False, True),
    ],
)
def test_exceeds_on_findings(fail_on: Level | str, fail_on_unknown: bool, expected: bool) -> None:
    assert exceeds(REPORT, fail_on, fail_on_unknown=fail_on_unknown) is expected


def test_exceeds_counts_what_was_not_evaluated_unless_told_not_to() -> None:
    only_info = AuditReport(
        findings=[REPORT.findings[2]], not_evaluated=REPORT.not_evaluated, queries=11
    )
    assert exceeds(only_info, "warning") is True
    assert exceeds(only_info, "warning", fail_on_unknown=False) is False
    assert exceeds(only_info, "info", fail_on_unknown=False) is True
    assert exceeds(CLEAN, "info") is False


def test_json_is_stable_sorted_and_complete() -> None:
    text = render(REPORT, "json")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert data["summary"] == {"error": 1, "warning": 1, "info": 1, "not_evaluated": 1}
    assert data["findings"][0] == {
        "code": "DR08",
        "rule": "drift.object_privileges",
        "level": "error",
        "object": "column auth_schema.users.password_hash",
        "message": "user_service_role holds SELECT, which the plan does not grant",
        "remediation": (
            "REVOKE SELECT (password_hash) ON TABLE auth_schema.users FROM user_service_role"
        ),
    }
    assert data["not_evaluated"] == [
        {
            "code": "DR17",
            "object": "table auth_schema.edulink_migrations",
            "reason": "auditor may not read auth_schema.edulink_migrations",
        }
    ]
    assert render(REPORT, "json") == text


# Required properties and enumerations of the SARIF 2.1.0 schema (OASIS,
# Schemata/sarif-schema-2.1.0.json) for the objects the renderer writes; every object in
# that schema has additionalProperties: false, so the allowed keys are listed too.
SARIF_OBJECTS: dict[str, tuple[set[str], set[str]]] = {
    # name: (required, allowed)
    "log": ({"version", "runs"}, {"$schema", "version", "runs", "properties"}),
    "run": (
        {"tool"},
        {"tool", "invocations", "results", "properties"},
    ),
    "tool": ({"driver"}, {"driver"}),
    "driver": ({"name"}, {"name", "informationUri", "rules"}),
    "rule": (
        {"id"},
        {"id", "name", "shortDescription", "fullDescription", "help", "defaultConfiguration"},
    ),
    "result": (
        {"message"},
        {
            "ruleId",
            "ruleIndex",
            "level",
            "message",
            "locations",
            "partialFingerprints",
            "properties",
        },
    ),
    "invocation": ({"executionSuccessful"}, {"executionSuccessful", "toolExecutionNotifications"}),
    "notification": ({"message"}, {"descriptor", "level", "message", "associatedRule"}),
}
SARIF_LEVELS = {"none", "note", "warning", "error"}


def check_object(kind: str, value: dict[str, Any]) -> None:
    required, allowed = SARIF_OBJECTS[kind]
    assert required <= value.keys(), (kind, required - value.keys())
    assert value.keys() <= allowed, (kind, value.keys() - allowed)


def test_sarif_follows_the_2_1_0_schema() -> None:
    log = json.loads(render(REPORT, "sarif"))
    check_object("log", log)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    check_object("run", run)
    check_object("tool", run["tool"])
    driver = run["tool"]["driver"]
    check_object("driver", driver)
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == [rule.code for rule in RULES] and len(set(ids)) == len(ids)
    for descriptor in driver["rules"]:
        check_object("rule", descriptor)
        assert descriptor["shortDescription"]["text"]
        assert descriptor["help"]["text"]
        assert descriptor["defaultConfiguration"]["level"] in SARIF_LEVELS
    assert [r["level"] for r in run["results"]] == ["error", "warning", "note"]
    for result in run["results"]:
        check_object("result", result)
        assert result["message"]["text"]
        assert ids[result["ruleIndex"]] == result["ruleId"]
        (location,) = result["locations"]
        assert location["logicalLocations"][0]["fullyQualifiedName"]
        assert all(isinstance(v, str) for v in result["partialFingerprints"].values())
    (invocation,) = run["invocations"]
    check_object("invocation", invocation)
    assert invocation["executionSuccessful"] is False  # something was not evaluated
    (notification,) = invocation["toolExecutionNotifications"]
    check_object("notification", notification)
    assert notification["level"] in SARIF_LEVELS
    assert notification["descriptor"] == {"id": "DR17"}
    assert notification["message"]["text"].startswith("not evaluated: ")


def test_the_table_aligns_columns_and_lists_what_was_not_evaluated() -> None:
    assert render(REPORT, "table") == (
        "LEVEL    CODE  OBJECT                                  MESSAGE\n"
        "error    DR08  column auth_schema.users.password_hash  user_service_role holds SELECT,"
        " which the plan does not grant\n"
        "                                                       fix: REVOKE SELECT (password_hash)"
        " ON TABLE auth_schema.users FROM user_service_role\n"
        "warning  DR03  role auth_service                       connection limit is 50, the plan"
        " says 10\n"
        "                                                       fix: ALTER ROLE auth_service"
        " CONNECTION LIMIT 10; or run `pulumi up --refresh`\n"
        "info     DR16  table notification_schema.scratch       table scratch | with a pipe\n"
        "                                                       fix: Add a migration.\n"
        "\n"
        "NOT EVALUATED (these checks did not pass; they could not be made):\n"
        "DR17  table auth_schema.edulink_migrations  auditor may not read"
        " auth_schema.edulink_migrations\n"
        "\n"
        "3 finding(s) (1 error, 1 warning, 1 info), 1 not evaluated on postgres;"
        " 11 catalog queries\n"
    )
    assert render(CLEAN, "table") == (
        "No findings.\n\n0 finding(s) (0 error, 0 warning, 0 info), 0 not evaluated on postgres;"
        " 11 catalog queries\n"
    )


def test_markdown_escapes_table_cells() -> None:
    text = render(REPORT, "markdown")
    assert (
        "| info | DR16 | `table notification_schema.scratch` | table scratch \\| with a pipe |"
        in text
    )
    assert "### Not evaluated" in text
    assert "### Not evaluated" not in render(CLEAN, "markdown")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(
        ValueError, match="unknown format 'xml'; known: table, json, markdown, sarif"
    ):
        render(REPORT, "xml")


def test_a_real_report_renders_in_every_format(prod: Deployment, audit: Audit) -> None:
    with prod.superuser() as conn:
        conn.execute("GRANT USAGE ON SCHEMA institution_schema TO PUBLIC")
        try:
            report = audit()
        finally:
            conn.execute("REVOKE USAGE ON SCHEMA institution_schema FROM PUBLIC")
    for format in FORMATS:
        text = render(report, format)
        assert "schema institution_schema" in text
        if format in ("json", "sarif"):
            json.loads(text)
