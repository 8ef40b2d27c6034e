"""An AuditReport as text: an aligned table, JSON, Markdown or SARIF 2.1.0.

Every format lists the findings and, separately, what could not be evaluated; none of them
shows a clean summary when something was not evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ToolInfo:
    """Where this project is documented, for SARIF's informationUri: the CLI takes it from
    the installed package's metadata or the CI run's repository. Without a known address
    the optional field is left out rather than pointing at someone else's project."""

    information_uri: str = ""


def render(report: AuditReport, format: Format | str, tool: ToolInfo | None = None) -> str:
    """`tool` says which version of edulink-db ran and where it is documented (SARIF)."""
    renderers: dict[str, Callable[[AuditReport], str]] = {
        "table": render_table,
        "json": render_json,
        "markdown": render_markdown,
        "sarif": lambda r: render_sarif(r, tool=tool or ToolInfo()),
    }
    if format not in renderers:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    return renderers[format](report)


def summary(report: AuditReport) -> str:
    """The one line a CI log shows: counts, the database, and the stack whose plan it was
    compared with (a dev database audited against prod's plan reports false drift)."""
    counts = ", ".join(f"{report.count(level)} {level.value}" for level in Level)
    where = f" on {report.database}" if report.database else ""
    where += f" against the plan of stack {report.stack}" if report.stack else ""
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
        "stack": report.stack,
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
    """Prose in a GFM table cell: pipes and backslashes escaped, newlines as <br>."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def _code(text: str) -> str:
    """`text` as one code span in a GFM table cell, whatever backticks it holds: the fence
    is one backtick longer than its longest run (CommonMark), padded when the text starts or
    ends with one. Inside a code span only the pipe needs escaping (GFM tables)."""
    runs = [len(run) for run in re.findall("`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    flat = " ".join(text.splitlines()).replace("|", "\\|")
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _remediation(text: str) -> str:
    """A remediation that marks its own code in pairs of single backticks ("or run
    `pulumi up --refresh`") is Markdown prose; anything else is a statement, shown as one
    code span. Wrapping the first kind in backticks too closed the span at its first
    backtick and mangled the cell."""
    runs = re.findall("`+", text)
    prose = bool(runs) and len(runs) % 2 == 0 and all(run == "`" for run in runs)
    return _cell(text) if prose else _code(text)


def render_markdown(report: AuditReport) -> str:
    title = f"## Audit of {_code(report.database)}" if report.database else "## Audit"
    title += f" (stack {_code(report.stack)})" if report.stack else ""
    lines = [title, "", f"**{summary(report)}**", ""]
    if report.findings:
        lines += [
            "| level | code | object | message | remediation |",
            "|---|---|---|---|---|",
        ]
        for f in report.findings:
            cells = (
                _cell(f.level.value),
                _cell(f.code),
                _code(f.object),
                _cell(f.message),
                _remediation(f.remediation),
            )
            lines.append("| " + " | ".join(cells) + " |")
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
            lines.append(f"| {_cell(n.code)} | {_code(n.object)} | {_cell(n.reason)} |")
    return "\n".join(lines) + "\n"


# -- sarif ----------------------------------------------------------------------------------


def render_sarif(
    report: AuditReport, rules: Sequence[Rule] = RULES, tool: ToolInfo | None = None
) -> str:
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
                "tool": {"driver": _driver(tool or ToolInfo(), rules)},
                "invocations": [
                    {
                        "executionSuccessful": not report.not_evaluated,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "properties": {
                    "stack": report.stack,
                    "database": report.database,
                    "serverVersion": report.server_version,
                    "queries": report.queries,
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"


def _driver(tool: ToolInfo, rules: Sequence[Rule]) -> dict[str, Any]:
    driver: dict[str, Any] = {
        "name": TOOL_NAME,
        "rules": [_descriptor(rule) for rule in rules],
    }
    if tool.information_uri:
        driver["informationUri"] = tool.information_uri
    return driver


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.documentation},
        "help": {"text": rule.documentation, "markdown": rule.documentation},
        "defaultConfiguration": {"level": SARIF_LEVELS[rule.level]},
    }
