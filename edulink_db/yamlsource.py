"""YAML documents that remember where each value was written.

Validation errors point at `file:line:column`, so the loader keeps the position of every
mapping key and sequence item next to the plain data PyYAML builds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edulink_db.errors import Issue, ValidationFailed

PathKey = tuple[str | int, ...]
_WORD = re.compile(r"[\w$]+|\S")


@dataclass(frozen=True)
class YamlSource:
    """Parsed YAML plus the 1-based (line, column) of every node, keyed by its path."""

    file: str
    data: Any
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    text: str = ""
    # Where each scalar value was written: (start, end) character offsets into `text`.
    spans: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def issue(self, path: PathKey, message: str) -> Issue:
        """An Issue located at `path`, or at its nearest ancestor that has a position."""
        line, column = self._position(path)
        return Issue(self.file, format_path(path), message, line, column)

    def issue_in_value(self, path: PathKey, offset: int, message: str) -> Issue:
        """An Issue at the word that starts at `offset` of the string value at `path`.

        Quotes, folding and escapes make offsets in the value differ from offsets in the
        file, so the word is found by its rank among the value's equal words; where that
        fails, the key's position stands.
        """
        found = self._word_position(path, offset)
        if found is None:
            return self.issue(path, message)
        return Issue(self.file, format_path(path), message, *found)

    def _word_position(self, path: PathKey, offset: int) -> tuple[int, int] | None:
        value, span = self._value(path), self.spans.get(path)
        if not isinstance(value, str) or span is None:
            return None
        word = _WORD.match(value, offset)
        if word is None:
            return None
        token = re.escape(word.group())
        # A word must match whole (`id` is not the start of `ident`); a sign matches as is.
        pattern = re.compile(
            rf"(?<![\w$]){token}(?![\w$])"
            if word.group()[0].isalnum() or word.group()[0] in "_$"
            else token
        )
        rank = sum(1 for m in pattern.finditer(value) if m.start() < offset)
        written = list(pattern.finditer(self.text, *span))
        if rank >= len(written):
            return None
        start = written[rank].start()
        line = self.text.count("\n", 0, start) + 1
        return line, start - (self.text.rfind("\n", 0, start) + 1) + 1

    def _value(self, path: PathKey) -> Any:
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value

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
    source = YamlSource(file, data, {}, text)
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
    if isinstance(node, yaml.ScalarNode):
        source.spans[path] = (node.start_mark.index, node.end_mark.index)
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
