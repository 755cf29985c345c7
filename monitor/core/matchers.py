"""Label matchers and series selectors: ``metric{label="v", code=~"5.."}``.

Regular expressions are anchored at both ends, as in Prometheus.

Examples
--------
>>> sel = parse_selector('http_requests_total{code=~"5..", job!="test"}')
>>> sel.matches("http_requests_total", {"code": "503", "job": "api"})
True
>>> str(sel)
'http_requests_total{code=~"5..",job!="test"}'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["MatchOp", "Matcher", "Selector", "parse_matchers", "parse_selector"]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


class MatchOp(StrEnum):
    """The four Prometheus matcher operators."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


@dataclass(frozen=True, slots=True, kw_only=True)
class Matcher:
    """One label matcher; a missing label matches as the empty string."""

    name: str
    op: MatchOp
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in (MatchOp.RE, MatchOp.NRE):
            try:
                re.compile(self.value)  # alone first, so the error's position is the user's
                object.__setattr__(self, "_pattern", re.compile(f"(?:{self.value})\\Z"))
            except re.error as exc:
                raise ValueError(f"label {self.name}: invalid regular expression "
                                 f"{self.value!r}: {exc}") from exc

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Return whether *labels* satisfy this matcher."""
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NE:
            return actual != self.value
        assert self._pattern is not None
        found = self._pattern.match(actual) is not None
        return found if self.op is MatchOp.RE else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op.value}"{escaped}"'


@dataclass(frozen=True, slots=True, kw_only=True)
class Selector:
    """A metric name and matchers selecting series."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    def matches(self, metric: str, labels: Mapping[str, str]) -> bool:
        """Return whether the series *metric*/*labels* is selected."""
        return metric == self.metric and all(m.matches(labels) for m in self.matchers)

    def __str__(self) -> str:
        if not self.matchers:
            return self.metric
        return self.metric + "{" + ",".join(str(m) for m in self.matchers) + "}"


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """Parse ``a="x", b=~"y.*"`` into matchers; raise ``ValueError`` saying where."""
    out: list[Matcher] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if not match:
            raise ValueError(f"invalid label matcher at character {pos + 1} of {text!r}; "
                             'write name="value", name!="value", name=~"regex" or name!~"regex"')
        value = re.sub(r"\\(.)", r"\1", match.group(3))
        out.append(Matcher(name=match.group(1), op=MatchOp(match.group(2)), value=value))
        pos = match.end()
    return tuple(out)


def parse_selector(text: str) -> Selector:
    """Parse ``metric{matchers}``; raise ``ValueError`` naming the text on a mistake."""
    match = re.fullmatch(rf"\s*({_NAME})\s*(?:\{{(.*)\}})?\s*", text, flags=re.S)
    if not match:
        raise ValueError(f"invalid selector {text!r}; write metric_name{{label=\"value\"}}")
    return Selector(metric=match.group(1), matchers=parse_matchers(match.group(2) or ""))
