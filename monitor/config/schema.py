"""Typed readers over YAML nodes that collect every problem with its location.

A :class:`Fields` wraps one mapping. It reports unknown keys (with a did-you-mean),
and each getter checks a type, records a :class:`ConfigError` at the value's
``file:line:col`` when it is wrong, and returns a default so reading can go on and
find the next problem.
"""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any, TypeVar

from monitor.config.durations import parse_duration
from monitor.config.errors import ConfigError, SourceLocation
from monitor.config.secrets import Secret, UnsetVariableError, resolve_env
from monitor.config.yaml import Node, NodeList

__all__ = ["Fields", "suggest"]

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def suggest(word: str, choices: Collection[str], noun: str = "keys") -> str:
    """Return ``did you mean "x"?`` for the closest choice, or a list of the valid ones."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return f"valid {noun}: " + ", ".join(sorted(choices))


class Fields:
    """Read the keys of one YAML mapping, collecting problems instead of raising."""

    def __init__(
        self,
        node: object,
        *,
        path: str,
        context: str,
        errors: list[ConfigError],
        allowed: Collection[str],
        where: SourceLocation,
    ) -> None:
        self.path, self.context, self.errors = path, context, errors
        self.where = getattr(node, "where", where)
        if isinstance(node, Node):
            self.node: Node = node
        else:
            self.node = Node()
            self.node.where, self.node.key_where, self.node.value_where = self.where, {}, {}
            if node is not None:
                self.error(self.where, path, f"expected a mapping, got {_describe(node)}")
        for key in self.node:
            if key not in allowed:
                self.error(
                    self.node.key_at(key), self._key(key), "unknown key", suggest(key, allowed)
                )

    # -- reporting -------------------------------------------------------------------
    def _key(self, key: builtins.str) -> builtins.str:
        return f"{self.path}.{key}" if self.path else key

    def error(
        self,
        where: SourceLocation,
        key: builtins.str,
        problem: builtins.str,
        hint: builtins.str = "",
    ) -> None:
        """Record one problem."""
        self.errors.append(ConfigError(where, key, problem, hint, self.context))

    def at(self, key: builtins.str) -> SourceLocation:
        """Return the location of *key*'s value."""
        return self.node.at(key)

    def has(self, key: builtins.str) -> builtins.bool:
        """Return whether *key* is set."""
        return key in self.node

    # -- scalar getters --------------------------------------------------------------
    def _get(self, key: builtins.str, kind: type[T], default: T, required: builtins.bool) -> T:
        if key not in self.node:
            if required:
                self.error(
                    self.where,
                    self._key(key),
                    "required key is missing",
                    f"add {key}: <{_TYPE_NAMES.get(kind, kind.__name__)}>",
                )
            return default
        value = self.node[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.error(
                self.at(key),
                self._key(key),
                f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {_describe(value)}",
            )
            return default
        return value

    def str(
        self, key: builtins.str, default: builtins.str = "", *, required: builtins.bool = False
    ) -> builtins.str:
        """Read a string."""
        return self._get(key, str, default, required)

    def int(
        self, key: builtins.str, default: builtins.int = 0, *, required: builtins.bool = False
    ) -> builtins.int:
        """Read an integer."""
        return self._get(key, int, default, required)

    def float(
        self, key: builtins.str, default: builtins.float = 0.0, *, required: builtins.bool = False
    ) -> builtins.float:
        """Read a number."""
        return self._get(key, float, default, required)

    def bool(self, key: builtins.str, default: builtins.bool = False) -> builtins.bool:
        """Read true or false."""
        return self._get(key, bool, default, False)

    def choice(
        self, key: builtins.str, choices: Collection[builtins.str], default: builtins.str
    ) -> builtins.str:
        """Read a string that must be one of *choices*."""
        value = self.str(key, default)
        if value not in choices:
            self.error(
                self.at(key),
                self._key(key),
                f"{value!r} is not one of " + ", ".join(sorted(choices)),
                suggest(value, choices, "values") if difflib.get_close_matches(
                    value, sorted(choices), n=1, cutoff=0.6) else "",
            )
            return default
        return value

    def duration(
        self,
        key: builtins.str,
        default: timedelta | None = None,
        *,
        required: builtins.bool = False,
    ) -> timedelta:
        """Read a duration such as ``30s`` or ``1h``."""
        fallback = default if default is not None else timedelta(0)
        if key not in self.node:
            if required:
                self.error(
                    self.where,
                    self._key(key),
                    "required key is missing",
                    f"add {key}: <duration such as 5m>",
                )
            return fallback
        raw = self.node[key]
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = f"{raw}s"
        if not isinstance(raw, str):
            self.error(
                self.at(key),
                self._key(key),
                f"expected a duration such as 30s or 5m, got {_describe(raw)}",
            )
            return fallback
        try:
            value = parse_duration(raw)
        except ValueError as exc:
            self.error(self.at(key), self._key(key), str(exc))
            return fallback
        if value.total_seconds() <= 0:
            self.error(self.at(key), self._key(key), f"duration {raw!r} must be positive")
            return fallback
        return value

    def secret(self, key: builtins.str, *, required: builtins.bool = False) -> Secret | None:
        """Read a string that may hold ``${ENV}`` references; keep it as a :class:`Secret`."""
        raw = self.str(key, required=required)
        if not raw:
            return None
        try:
            return Secret(resolve_env(raw))
        except UnsetVariableError as exc:
            self.error(self.at(key), self._key(key), str(exc))
            return None

    def str_map(self, key: builtins.str) -> dict[builtins.str, builtins.str]:
        """Read a mapping of strings to strings (labels, annotations)."""
        raw = self.node.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(self.at(key), self._key(key), f"expected a mapping, got {_describe(raw)}")
            return {}
        out: dict[str, str] = {}
        for k, v in raw.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                where = raw.at(k) if isinstance(raw, Node) else self.at(key)
                self.error(where, f"{self._key(key)}.{k}", f"expected a string, got {_describe(v)}")
                continue
            out[str(k)] = str(v)
        return out

    # -- structure -------------------------------------------------------------------
    def sub(
        self,
        key: builtins.str,
        allowed: Collection[builtins.str],
        *,
        required: builtins.bool = False,
    ) -> Fields:
        """Return the readers of a nested mapping (empty when absent)."""
        if key not in self.node and required:
            self.error(self.where, self._key(key), "required key is missing")
        return Fields(
            self.node.get(key),
            path=self._key(key),
            context=self.context,
            errors=self.errors,
            allowed=allowed,
            where=self.at(key),
        )

    def items(
        self, key: builtins.str, *, required: builtins.bool = False
    ) -> list[tuple[builtins.int, Any, SourceLocation]]:
        """Return ``(index, item, location)`` for each item of a list."""
        raw = self.node.get(key)
        if raw is None:
            if required:
                self.error(
                    self.where, self._key(key), "required key is missing", "add at least one item"
                )
            return []
        if not isinstance(raw, list):
            self.error(self.at(key), self._key(key), f"expected a list, got {_describe(raw)}")
            return []
        where = raw.at if isinstance(raw, NodeList) else (lambda _i: self.at(key))
        return [(i, item, where(i)) for i, item in enumerate(raw)]

    def item_fields(
        self,
        key: builtins.str,
        allowed: Collection[builtins.str],
        *,
        required: builtins.bool = False,
    ) -> list[Fields]:
        """Return readers for each mapping in a list."""
        return [
            Fields(
                item,
                path=f"{self._key(key)}[{i}]",
                context=self.context,
                errors=self.errors,
                allowed=allowed,
                where=where,
            )
            for i, item, where in self.items(key, required=required)
        ]

    def check(
        self, key: builtins.str, ok: builtins.bool, problem: builtins.str, hint: builtins.str = ""
    ) -> None:
        """Record *problem* at *key* unless *ok*."""
        if not ok:
            self.error(self.at(key), self._key(key), problem, hint)

    def convert(self, key: builtins.str, parse: Callable[[builtins.str], T], default: T) -> T:
        """Read a string and convert it with *parse*; a ``ValueError`` becomes a problem."""
        raw = self.str(key)
        if key not in self.node or not raw:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            self.error(self.at(key), self._key(key), str(exc))
            return default


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
