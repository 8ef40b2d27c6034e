"""The README's CLI section describes the CLI there is: every command and option, the
defaults, one table of exit codes, and an example error that the code still produces."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer

from edulink_db.catalogue.load import load_catalogue
from edulink_db.cli.app import COMMANDS, app
from edulink_db.errors import ValidationFailed

README = Path(__file__).resolve().parents[2] / "README.md"
GROUP: Any = typer.main.get_command(app)  # a click group (typer may vendor its own click)


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


CLI = _section("Operating it: `edulink-db`")


def _row(command: str) -> str:
    rows = [line for line in CLI.splitlines() if line.startswith(f"| `edulink-db {command} ")]
    assert len(rows) == 1, f"the CLI table has {len(rows)} rows for {command}"
    return rows[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_and_option_is_in_the_cli_table(command: str) -> None:
    row = _row(command)
    for param in GROUP.commands[command].params:
        names = [*param.opts, *getattr(param, "secondary_opts", [])]
        names = [n for n in names if n.startswith("--") and n not in ("--help", "--root")]
        if names:
            assert any(f"{name}" in row for name in names), (command, names)
    assert "`--root DIR`" in CLI  # common to every command


def test_the_registered_commands_are_the_documented_ones() -> None:
    assert sorted(GROUP.commands) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_defaults_are_documented(command: str) -> None:
    for param in GROUP.commands[command].params:
        default = param.default
        if param.param_type_name != "option" or param.is_flag or default is None:
            continue
        if str(default) == ".":  # --root, documented once for every command
            continue
        name = next(n for n in param.opts if n.startswith("--"))
        value = getattr(default, "value", default)
        assert f"`{name} {value}`" in CLI, f"{command}: default {name} {value} undocumented"
    assert "`--stack` is never guessed" in CLI


def test_one_table_of_exit_codes_for_every_command() -> None:
    header = next(line for line in CLI.splitlines() if line.startswith("| exit |"))
    assert [c.strip() for c in header.strip("|").split("|")][1:] == list(COMMANDS)
    codes = [
        line.split("|")[1].strip() for line in CLI.splitlines() if re.match(r"\| \d+ \|", line)
    ]
    assert codes == ["0", "1", "2", "130"]


def test_the_example_error_is_what_validation_says(tmp_path: Path, project_root: Path) -> None:
    example = re.search(r"e\.g\. `(catalogue\.yaml:\d+:\d+: [^`]+)`", _section("Adding a service"))
    assert example is not None
    shutil.copy(project_root / "catalogue.yaml", tmp_path)
    shutil.copytree(project_root / "migrations", tmp_path / "migrations")
    catalogue = tmp_path / "catalogue.yaml"
    text = catalogue.read_text()
    user = text.index("\n  user:\n")
    old = "columns: [id, email, is_active]"
    at = text.index(old, user)
    catalogue.write_text(text[:at] + "columns: [id, email, password_hash]" + text[at + len(old) :])
    with pytest.raises(ValidationFailed) as failed:
        load_catalogue(tmp_path)
    assert [str(issue) for issue in failed.value.issues] == [example.group(1)]
