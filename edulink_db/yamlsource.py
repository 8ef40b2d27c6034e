"""YAML documents that remember where each value was written.

Validation errors point at `file:line:column`, so the loader keeps the position of every
mapping key and sequence item next to the plain data PyYAML builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edulink_db.errors import Issue, ValidationFailed

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlSource:
    """Parsed YAML plus the 1-based (line, column) of every node, keyed by its path."""

    file: str
    data: Any
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def issue(self, path: PathKey, message: str) -> Issue:
        """An Issue located at `path`, or at its nearest ancestor that has a position."""
        line, column = self._position(path)
        return Issue(self.file, format_path(path), message, line, column)

    def _position(self, path: PathKey) -> tuple[int | None, int | None]:
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found:
                return found
        return (None, None)


def format_path(path: PathKey) -> str:
    """`("services", "user", "reads", 0, "table")` -> `services.user.reads[0].table`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def load_yaml(path: Path, display_name: str | None = None) -> YamlSource:
    """Read a YAML file; a syntax error becomes an Issue with its position."""
    name = display_name or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValidationFailed([Issue(name, "", f"cannot read file: {error.strerror}")]) from error
    return parse_yaml(text, name)


def parse_yaml(text: str, file: str) -> YamlSource:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise ValidationFailed(
            [Issue(file, "", f"invalid YAML: {problem}", line, column)]
        ) from error
    if node is None:
        return YamlSource(file, None, {})
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    source = YamlSource(file, data, {})
    duplicates: list[Issue] = []
    _record_positions(node, (), source, duplicates)
    if duplicates:
        raise ValidationFailed(duplicates)
    return source


def _record_positions(
    node: yaml.Node, path: PathKey, source: YamlSource, duplicates: list[Issue]
) -> None:
    """Walk the node tree once, noting positions and keys written twice (PyYAML keeps the
    last silently, which would hide a half-edited entry)."""
    positions = source.positions
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            if key_node.value in seen:
                mark = key_node.start_mark
                duplicates.append(
                    Issue(
                        file=source.file,
                        path=format_path(child),
                        message="key appears twice",
                        line=mark.line + 1,
                        column=mark.column + 1,
                    )
                )
            seen.add(key_node.value)
            _record_positions(value_node, child, source, duplicates)
            # A key's own position reads better than its value's in an error message.
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_positions(item, (*path, index), source, duplicates)
