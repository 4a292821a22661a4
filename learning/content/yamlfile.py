"""A strict YAML reader: plain data only, with the line of every value for error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_YAML_BYTES = 1024 * 1024
# Course files nest four or five levels; PyYAML composes nodes recursively, so a file of a million "["
# would end in a RecursionError (a 500 on a bundle import, found by tests) long before any size cap.
MAX_YAML_DEPTH = 32
BRACKETS = re.compile(r"[\[\]{}]")

Path_ = tuple[str | int, ...]


class YamlError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class YamlDocument:
    """Parsed data and the 1-based line where each value (by its path) starts."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int:
        """Return the line of ``path``, or of its nearest parent that has one."""
        key: Path_ = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)


class _StrictLoader(yaml.SafeLoader):
    """Refuses anchors, aliases, explicit tags (alias bombs pass safe_load) and deep nesting."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401
        event = self.peek_event()
        line = event.start_mark.line + 1
        if self.depth > MAX_YAML_DEPTH:
            raise YamlError(line, f"YAML nested more than {MAX_YAML_DEPTH} levels deep")
        if isinstance(event, yaml.AliasEvent):
            raise YamlError(line, "YAML aliases are not allowed")
        if getattr(event, "anchor", None):
            raise YamlError(line, "YAML anchors are not allowed")
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":
            raise YamlError(line, f"YAML tags are not allowed ({tag})")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document of plain data, raising YamlError with a line on any problem."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise YamlError(1, f"file is larger than {MAX_YAML_BYTES // 1024} KiB")
    _check_flow_depth(text)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, {(): 1})
        lines: dict[Path_, int] = {}
        data = _to_data(loader, node, (), lines)
        return YamlDocument(data, lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlError(1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _check_flow_depth(text: str) -> None:
    """Refuse deep [ and { nesting before PyYAML's scanner sees it: it weighs every open bracket of a
    line against every other, so a line of "[" costs about a second however the composer stops it.
    Brackets inside quoted text count too, which refuses only text with more than MAX_YAML_DEPTH
    unbalanced ones."""
    depth = 0
    for match in BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_YAML_DEPTH:
            line = text.count("\n", 0, match.start()) + 1
            raise YamlError(line, f"YAML nested more than {MAX_YAML_DEPTH} levels deep")


def _to_data(loader: _StrictLoader, node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(key_node.start_mark.line + 1, "mapping keys must be plain text")
            key = str(loader.construct_object(key_node))
            if key in result:
                raise YamlError(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _to_data(loader, value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node)


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse a YAML file (see parse_yaml)."""
    if path.stat().st_size > MAX_YAML_BYTES:
        raise YamlError(1, f"file is larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlError(1, "file is not UTF-8 text") from None
    return parse_yaml(text)
