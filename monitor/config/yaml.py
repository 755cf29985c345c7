"""Load YAML into plain values that remember where each came from.

Mappings load as :class:`Node` dicts and sequences as :class:`NodeList`; both carry
the 1-based location of every key and item, so a later check can say ``file:line:col``.
Duplicate keys are an error, not a silent overwrite.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.nodes import Node as YamlNode

from monitor.config.errors import ConfigError, SourceLocation

__all__ = ["Node", "NodeList", "load_documents", "location_of"]


class Node(dict[str, Any]):
    """A YAML mapping that remembers where it and each key's value start."""

    where: SourceLocation
    key_where: dict[str, SourceLocation]
    value_where: dict[str, SourceLocation]

    def at(self, key: str) -> SourceLocation:
        """Return where the value of *key* starts (or the mapping itself if absent)."""
        return self.value_where.get(key, self.where)

    def key_at(self, key: str) -> SourceLocation:
        """Return where *key* itself is written."""
        return self.key_where.get(key, self.where)


class NodeList(list[Any]):
    """A YAML sequence that remembers where it and each item start."""

    where: SourceLocation
    item_where: list[SourceLocation]

    def at(self, index: int) -> SourceLocation:
        """Return where item *index* starts."""
        return self.item_where[index] if index < len(self.item_where) else self.where


def location_of(value: object, fallback: SourceLocation) -> SourceLocation:
    """Return the location recorded on *value*, or *fallback*."""
    where = getattr(value, "where", None)
    return where if isinstance(where, SourceLocation) else fallback


def _mark(path: str, node: YamlNode) -> SourceLocation:
    return SourceLocation(path, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, path: str, errors: list[ConfigError]) -> None:
        self.path, self.errors = path, errors
        self._constructor = yaml.SafeLoader("")

    def build(self, node: YamlNode) -> Any:
        if isinstance(node, MappingNode):
            return self._mapping(node)
        if isinstance(node, SequenceNode):
            out = NodeList(self.build(item) for item in node.value)
            out.where = _mark(self.path, node)
            out.item_where = [_mark(self.path, item) for item in node.value]
            return out
        assert isinstance(node, ScalarNode)
        return self._constructor.construct_object(node, deep=True)

    def _mapping(self, node: MappingNode) -> Node:
        self._constructor.flatten_mapping(node)
        out = Node()
        out.where = _mark(self.path, node)
        out.key_where, out.value_where = {}, {}
        for key_node, value_node in node.value:
            key = self.build(key_node)
            if not isinstance(key, str):
                key = str(key)
            where = _mark(self.path, key_node)
            if key in out:
                first = out.key_where[key]
                self.errors.append(ConfigError(
                    where, key, f"duplicate key (first set on line {first.line})",
                    "keep one of them"))
                continue
            out[key] = self.build(value_node)
            out.key_where[key] = where
            out.value_where[key] = _mark(self.path, value_node)
        return out


def load_documents(text: str, path: str) -> tuple[list[Any], list[ConfigError]]:
    """Parse every YAML document in *text*; return them with the problems found."""
    errors: list[ConfigError] = []
    builder = _Builder(path, errors)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (SourceLocation(path, mark.line + 1, mark.column + 1) if mark
                 else SourceLocation(path))
        problem = f"invalid YAML: {exc.problem or exc.context}"
        return [], [ConfigError(where, "", problem, "fix the syntax at this position")]
    except yaml.YAMLError as exc:
        return [], [ConfigError(SourceLocation(path), "", f"invalid YAML: {exc}")]
    docs = [builder.build(node) for node in nodes if node is not None]
    return docs, errors
