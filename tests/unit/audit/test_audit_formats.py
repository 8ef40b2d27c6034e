"""Audit output formats: Markdown tables that survive backticks, SARIF that names this
project, and a summary line that names the stack. Golden files: tests/golden/README.md."""

from __future__ import annotations

import json
import re

import pytest

from edulink_db.audit.render import ToolInfo, render, summary
from edulink_db.audit.report import AuditReport
from edulink_db.audit.rules import RULES
from edulink_db.cli.app import _tool_info
from edulink_db.finding import Finding, Level, NotEvaluated
from tests.golden.golden import assert_golden

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
            "table notification_schema.`odd``name` | x",
            "a table the migrations do not create",
            'Add a migration, or DROP TABLE notification_schema."`odd``name` | x"',
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
    stack="prod",
)


def _row_cells(row: str) -> list[str]:
    """Split a GFM table row as GitHub does: on pipes that are not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _code_spans_balance(cell: str) -> bool:
    """Every opening backtick run is closed by a run of the same length (CommonMark)."""
    runs = re.findall(r"`+", cell)
    open_run: str | None = None
    for run in runs:
        if open_run is None:
            open_run = run
        elif run == open_run:
            open_run = None
    return open_run is None


def test_markdown_keeps_a_remediation_with_backticks_in_one_cell() -> None:
    text = render(REPORT, "markdown")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "DR" in line]
    assert len(rows) == 4  # three findings, one not evaluated
    for row in rows[:3]:
        cells = _row_cells(row)
        assert len(cells) == 5, row
        assert all(_code_spans_balance(cell) for cell in cells), row
    dr03 = _row_cells(rows[1])
    # Prose that marks its own code is kept as written, not wrapped in a second code span.
    assert dr03[4] == "ALTER ROLE auth_service CONNECTION LIMIT 10; or run `pulumi up --refresh`"
    dr08 = _row_cells(rows[0])
    assert dr08[4] == (
        "`REVOKE SELECT (password_hash) ON TABLE auth_schema.users FROM user_service_role`"
    )
    # An object holding backticks and a pipe gets a longer fence and an escaped pipe.
    assert _row_cells(rows[2])[2] == "```table notification_schema.`odd``name` \\| x```"


def test_golden_markdown() -> None:
    assert_golden("audit_report.md", render(REPORT, "markdown"))


def test_golden_sarif() -> None:
    assert_golden("audit_report.sarif", render(REPORT, "sarif"))


def test_sarif_names_this_project_and_no_other() -> None:
    without = json.loads(render(REPORT, "sarif"))["runs"][0]["tool"]["driver"]
    assert without["name"] == "edulink-db audit"
    assert "informationUri" not in without  # unknown: left out, never someone else's
    uri = "https://git.example.org/platform/edulink-db"
    log = render(REPORT, "sarif", ToolInfo(uri))
    assert json.loads(log)["runs"][0]["tool"]["driver"]["informationUri"] == uri
    assert "github.com/supabase" not in log  # rule texts may cite splinter; the tool is ours


def test_the_cli_takes_the_project_address_from_the_ci_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "edulink/edulink-db")
    assert _tool_info() == ToolInfo("https://github.com/edulink/edulink-db")
    monkeypatch.delenv("GITHUB_REPOSITORY")
    assert _tool_info() == ToolInfo("")


@pytest.mark.parametrize("format", ["table", "markdown", "json", "sarif"])
def test_every_format_names_the_stack(format: str) -> None:
    text = render(REPORT, format)
    if format in ("json", "sarif"):
        data = json.loads(text)
        stack = data["stack"] if format == "json" else data["runs"][0]["properties"]["stack"]
        assert stack == "prod"
    else:
        assert "against the plan of stack prod" in text


def test_the_summary_line_names_database_and_stack() -> None:
    assert summary(REPORT) == (
        "3 finding(s) (1 error, 1 warning, 1 info), 1 not evaluated on postgres against the "
        "plan of stack prod; 11 catalog queries"
    )
