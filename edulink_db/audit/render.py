"""An AuditReport as text: an aligned table, JSON, Markdown or SARIF 2.1.0.

Every format lists the findings and, separately, what could not be evaluated; none of them
shows a clean summary when something was not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from edulink_db.audit.report import AuditReport
from edulink_db.audit.rule import Rule
from edulink_db.audit.rules import RULES
from edulink_db.finding import Finding, Level, NotEvaluated

Format = Literal["table", "json", "markdown", "sarif"]
FORMATS: tuple[Format, ...] = ("table", "json", "markdown", "sarif")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {Level.error: "error", Level.warning: "warning", Level.info: "note"}
TOOL_NAME = "edulink-db audit"
_RULES_BY_CODE = {rule.code: rule for rule in RULES}


def render(report: AuditReport, format: Format | str) -> str:
    renderers: dict[str, Callable[[AuditReport], str]] = {
        "table": render_table,
        "json": render_json,
        "markdown": render_markdown,
        "sarif": render_sarif,
    }
    if format not in renderers:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    return renderers[format](report)


def summary(report: AuditReport) -> str:
    counts = ", ".join(f"{report.count(level)} {level.value}" for level in Level)
    where = f" on {report.database}" if report.database else ""
    return (
        f"{len(report.findings)} finding(s) ({counts}), "
        f"{len(report.not_evaluated)} not evaluated{where}; {report.queries} catalog queries"
    )


# -- table ----------------------------------------------------------------------------------


def render_table(report: AuditReport) -> str:
    lines: list[str] = []
    if report.findings:
        rows = [("LEVEL", "CODE", "OBJECT", "MESSAGE")] + [
            (f.level.value, f.code, f.object, f.message) for f in report.findings
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        indent = " " * (sum(widths) + 6)
        for index, row in enumerate(rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[3]]).rstrip())
            if index:
                lines.append(f"{indent}fix: {report.findings[index - 1].remediation}")
    else:
        lines.append("No findings.")
    if report.not_evaluated:
        lines += ["", "NOT EVALUATED (these checks did not pass; they could not be made):"]
        width = max(len(n.code) for n in report.not_evaluated)
        object_width = max(len(n.object) for n in report.not_evaluated)
        for item in report.not_evaluated:
            lines.append(
                f"{item.code.ljust(width)}  {item.object.ljust(object_width)}  {item.reason}"
            )
    lines += ["", summary(report)]
    return "\n".join(lines) + "\n"


# -- json -----------------------------------------------------------------------------------


def render_json(report: AuditReport) -> str:
    payload = {
        "database": report.database,
        "server_version": report.server_version,
        "user": report.user,
        "queries": report.queries,
        "summary": {
            **{level.value: report.count(level) for level in Level},
            "not_evaluated": len(report.not_evaluated),
        },
        "findings": [_finding(f) for f in report.findings],
        "not_evaluated": [_not_evaluated(n) for n in report.not_evaluated],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def _finding(finding: Finding) -> dict[str, str]:
    rule = _RULES_BY_CODE.get(finding.code)
    return {
        "code": finding.code,
        "rule": rule.name if rule else "",
        "level": finding.level.value,
        "object": finding.object,
        "message": finding.message,
        "remediation": finding.remediation,
    }


def _not_evaluated(item: NotEvaluated) -> dict[str, str]:
    return {"code": item.code, "object": item.object, "reason": item.reason}


# -- markdown -------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def render_markdown(report: AuditReport) -> str:
    title = f"## Audit of `{report.database}`" if report.database else "## Audit"
    lines = [title, "", f"**{summary(report)}**", ""]
    if report.findings:
        lines += [
            "| level | code | object | message | remediation |",
            "|---|---|---|---|---|",
        ]
        for f in report.findings:
            cells = (f.level.value, f.code, f"`{f.object}`", f.message, f"`{f.remediation}`")
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    else:
        lines.append("No findings.")
    if report.not_evaluated:
        lines += [
            "",
            "### Not evaluated",
            "",
            "These checks did not pass: they could not be made.",
            "",
            "| code | object | reason |",
            "|---|---|---|",
        ]
        for n in report.not_evaluated:
            lines.append(f"| {_cell(n.code)} | `{_cell(n.object)}` | {_cell(n.reason)} |")
    return "\n".join(lines) + "\n"


# -- sarif ----------------------------------------------------------------------------------


def render_sarif(report: AuditReport, rules: Sequence[Rule] = RULES) -> str:
    """SARIF 2.1.0: one run, every rule as a reportingDescriptor, findings as results with a
    logical location (the database object), and "not evaluated" as tool execution
    notifications, so a SARIF consumer does not read them as passes."""
    index = {rule.code: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for finding in report.findings:
        kind, _, name = finding.object.partition(" ")
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "level": SARIF_LEVELS[finding.level],
            "message": {"text": f"{finding.object}: {finding.message}"},
            "locations": [
                {
                    "logicalLocations": [
                        {"fullyQualifiedName": finding.object, "name": name, "kind": kind}
                    ]
                }
            ],
            "partialFingerprints": {"objectAndMessage/v1": f"{finding.object}|{finding.message}"},
            # SARIF's `fixes` must carry artifact changes; a remediation is advice, so it
            # travels as a property.
            "properties": {"remediation": finding.remediation},
        }
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        results.append(result)
    notifications = [
        {
            "descriptor": {"id": item.code},
            "level": "error",
            "message": {"text": f"not evaluated: {item.object}: {item.reason}"},
            **(
                {"associatedRule": {"id": item.code, "index": index[item.code]}}
                if item.code in index
                else {}
            ),
        }
        for item in report.not_evaluated
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "informationUri": "https://github.com/supabase/splinter",
                        "rules": [_descriptor(rule) for rule in rules],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not report.not_evaluated,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "properties": {
                    "database": report.database,
                    "serverVersion": report.server_version,
                    "queries": report.queries,
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.documentation},
        "help": {"text": rule.documentation, "markdown": rule.documentation},
        "defaultConfiguration": {"level": SARIF_LEVELS[rule.level]},
    }
