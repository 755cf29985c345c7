"""Alert expressions: DESIGN.md's selector language, parsed once and evaluated over the store.

The grammar is a small, PromQL-shaped subset::

    rule       := vector [ ("<" | ">" | "<=" | ">=" | "==" | "!=") constant ]
    vector     := term { ("+" | "-") term }
    term       := unary { ("*" | "/") unary }
    unary      := ["-" | "+"] primary
    primary    := number | "(" vector ")" | selector
                | ("rate" | "increase") "(" selector "[" duration "]" ")"
                | ("sum" | "avg" | "min" | "max" | "count") [group] "(" vector ")" [group]
    group      := ("by" | "without") "(" [label {"," label}] ")"
    selector   := metric_name [ "{" label ("=" | "!=" | "=~" | "!~") string {"," ...} "}" ]

Semantics, and where they differ from Prometheus:

- An instant selector returns each series' latest sample within the lookback (5m).
- ``increase(x[w])`` is the exact growth of the counter between the first and last sample
  of the window ``w`` ending at ``at``, a drop counting as a reset; ``rate`` divides it by ``w`` in
  seconds. Prometheus extrapolates both to the window's edges, so for a steady counter
  scraped every 15s a 5m ``rate`` here reads about 5% lower (4m45s of growth over 5m).
  A series needs two samples in the window to have an increase.
- Arithmetic between two vectors matches series one-to-one on identical label sets; a
  series without a partner is dropped, as in Prometheus. ``__name__`` never appears.
- A division by zero gives NaN (Prometheus gives ±Inf for ``x/0``), and a series whose
  value is NaN is dropped wherever it appears.
- The comparison, if any, comes last, against a constant, and filters: the series for
  which it holds are kept with their left-hand value. Without one every series is a result.

Examples
--------
>>> expr = parse_expr('sum by (model) (rate(errors_total{code=~"5.."}[5m])) > 0.1')
>>> expr.text
'sum by (model) (rate(errors_total{code=~"5.."}[5m])) > 0.1'
>>> parse_expr('sum(rate(x[5m])')
Traceback (most recent call last):
...
monitor.alerting.expr.ExprError: expected ')' at character 16 of 'sum(rate(x[5m])'
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.durations import parse_duration
from monitor.core.matchers import Matcher, MatchOp, Selector
from monitor.core.model import Labels
from monitor.store.samples import SampleStore

__all__ = ["AGGREGATIONS", "COMPARISONS", "DEFAULT_LOOKBACK", "FUNCTIONS", "Expr", "ExprError",
           "parse_expr"]

AGGREGATIONS = ("sum", "avg", "min", "max", "count")
FUNCTIONS = ("rate", "increase")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt}
_UNSUPPORTED = {"on", "ignoring", "group_left", "group_right", "bool", "offset"}
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
    "/": lambda a, b: math.nan if b == 0 else a / b}
DEFAULT_LOOKBACK = timedelta(minutes=5)

Vector = dict[Labels, float]


class ExprError(ValueError):
    """An expression that does not parse; says the 1-based character and what was expected."""

    def __init__(self, text: str, offset: int, problem: str, hint: str = "",
                 found: str = "") -> None:
        self.text, self.offset, self.problem, self.hint = text, offset, problem, hint
        message = f"{problem} at character {offset + 1} of {text!r}"
        message += f", found {found}" if found else ""
        super().__init__(message + (f"; {hint}" if hint else ""))


# -- the tree --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Number:
    value: float
    vector = False


@dataclass(frozen=True, slots=True)
class _Instant:
    selector: Selector
    vector = True


@dataclass(frozen=True, slots=True)
class _Range:
    function: str
    selector: Selector
    window: timedelta
    vector = True


@dataclass(frozen=True, slots=True)
class _Aggregate:
    op: str
    labels: tuple[str, ...] | None
    without: bool
    arg: _Node
    vector = True


@dataclass(frozen=True, slots=True)
class _Binary:
    op: str
    left: _Node
    right: _Node

    @property
    def vector(self) -> bool:
        return self.left.vector or self.right.vector


_Node = _Number | _Instant | _Range | _Aggregate | _Binary


@dataclass(frozen=True, slots=True, kw_only=True)
class Expr:
    """A parsed alert expression; :meth:`evaluate` runs it against the store."""

    text: str
    root: _Node
    comparison: str = ""
    threshold: float = 0.0

    def __str__(self) -> str:
        return self.text

    def evaluate(self, store: SampleStore, at: datetime,
                 lookback: timedelta = DEFAULT_LOOKBACK) -> list[tuple[Labels, float]]:
        """Return the series of this expression at *at*, sorted by labels.

        Parameters
        ----------
        store
            Where the samples are.
        at
            The evaluation time; windows end here.
        lookback
            How far back an instant selector looks for a series' latest sample.
        """
        result = _evaluate(self.root, store, at, lookback)
        assert isinstance(result, dict)
        if self.comparison:
            holds = COMPARISONS[self.comparison]
            result = {k: v for k, v in result.items() if holds(v, self.threshold)}
        return sorted(result.items(), key=lambda item: tuple(item[0].items()))


def parse_expr(text: str) -> Expr:
    """Parse an alert expression; raise :class:`ExprError` saying where it went wrong."""
    return _Parser(text).parse()


# -- parsing ---------------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, problem: str, at: int | None = None, hint: str = "") -> ExprError:
        return ExprError(self.text, self.pos if at is None else at, problem, hint)

    def expected(self, what: str) -> ExprError:
        self.skip()
        if self._comparison():
            return ExprError(self.text, self.pos, f"expected {what}",
                             "a comparison may only come once, at the end",
                             found=f"comparison {self._comparison()!r}")
        found = self._token()
        return ExprError(self.text, self.pos, f"expected {what}",
                         found=repr(found) if found else "")

    def _token(self) -> str:
        rest = self.text[self.pos:]
        match = _METRIC.match(rest) or _NUMBER.match(rest)
        return match.group(0) if match else rest[:1]

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, literal: str) -> bool:
        self.skip()
        return self.text.startswith(literal, self.pos)

    def accept(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.accept(literal):
            raise self.expected(repr(literal))

    def name(self, pattern: re.Pattern[str] = _METRIC) -> str | None:
        self.skip()
        match = pattern.match(self.text, self.pos)
        if not match:
            return None
        self.pos = match.end()
        return match.group(0)

    def _comparison(self) -> str:
        return next((op for op in COMPARISONS if self.text.startswith(op, self.pos)), "")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Expr:
        root = self.vector_expr()
        self.skip()
        if not root.vector:
            raise self.fail("the expression selects no series", 0,
                            "compare series against a number, e.g. rate(errors_total[5m]) > 0.1")
        op, threshold = self._comparison(), 0.0
        if op:
            at = self.pos
            self.pos += len(op)
            right = self.vector_expr()
            if right.vector:
                raise self.fail(f"the right side of {op!r} must be a number", at + len(op),
                                "compare against a constant, e.g. > 0.1")
            threshold = _constant(right)
        self.skip()
        if self.pos < len(self.text):
            raise self.expected("an operator (+ - * /)" + ("" if op else ", a comparison") +
                                " or the end of the expression")
        return Expr(text=self.text, root=root, comparison=op, threshold=threshold)

    def vector_expr(self) -> _Node:
        left = self.term()
        while self.peek("+") or self.peek("-"):
            op = self.text[self.pos]
            self.pos += 1
            left = _fold(_Binary(op, left, self.term()))
        return left

    def term(self) -> _Node:
        left = self.unary()
        while self.peek("*") or self.peek("/"):
            op = self.text[self.pos]
            self.pos += 1
            left = _fold(_Binary(op, left, self.unary()))
        return left

    def unary(self) -> _Node:
        if self.accept("-"):
            return _fold(_Binary("*", _Number(-1.0), self.unary()))
        self.accept("+")
        return self.primary()

    def primary(self) -> _Node:
        self.skip()
        start = self.pos
        if self.accept("("):
            inner = self.vector_expr()
            self.expect(")")
            return inner
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            return _Number(float(number.group(0)))
        ident = self.name()
        if ident is None:
            raise self.expected("a metric name, a number, a function or '('")
        if ident in AGGREGATIONS and (self.peek("(") or self.peek("by") or self.peek("without")):
            return self.aggregation(ident)
        if ident in FUNCTIONS and self.peek("("):
            return self.range_function(ident)
        if self.peek("(") or ident in _UNSUPPORTED:
            raise self._unknown_function(ident, start)
        selector = self.selector(ident)
        if self.peek("["):
            raise self.fail("a range selector is only allowed inside rate() or increase()",
                            self.pos, f"write e.g. rate({ident}[5m])")
        return _Instant(selector)

    def _unknown_function(self, ident: str, start: int) -> ExprError:
        if ident in _UNSUPPORTED:
            return self.fail(f"{ident!r} is not supported", start,
                             "both sides of an operator must have the same labels")
        known = sorted((*AGGREGATIONS, *FUNCTIONS))
        close = difflib.get_close_matches(ident, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known)
        return self.fail(f"unknown function {ident!r}", start, hint)

    def aggregation(self, op: str) -> _Node:
        labels, without = self.grouping(None, False)
        self.expect("(")
        self.skip()
        arg_at = self.pos
        arg = self.vector_expr()
        self.expect(")")
        if not arg.vector:
            raise self.fail(f"{op}() needs series, got a number", arg_at)
        labels, without = self.grouping(labels, without)
        return _Aggregate(op, labels, without, arg)

    def grouping(self, labels: tuple[str, ...] | None,
                 without: bool) -> tuple[tuple[str, ...] | None, bool]:
        self.skip()
        at = self.pos
        keyword = "by" if self.peek("by") else "without" if self.peek("without") else ""
        if not keyword or (self.name() != keyword):
            self.pos = at
            return labels, without
        if labels is not None:
            raise self.fail(f"the aggregation already has a {'without' if without else 'by'} "
                            "clause", at)
        self.expect("(")
        names: list[str] = []
        while not self.accept(")"):
            label = self.name(_LABEL)
            if label is None:
                raise self.expected("a label name or ')'")
            names.append(label)
            if not self.accept(","):
                if not self.accept(")"):
                    raise self.expected("',' or ')'")
                break
        return tuple(names), keyword == "without"

    def range_function(self, function: str) -> _Node:
        self.expect("(")
        metric = self.name()
        if metric is None:
            raise self.expected(f"a range selector such as errors_total[5m] inside {function}()")
        selector = self.selector(metric)
        if not self.accept("["):
            raise self.expected(f"'[' and a window: {function}() needs a range such as "
                                f"{metric}[5m]")
        at = self.pos
        end = self.text.find("]", at)
        if end < 0:
            self.pos = len(self.text)
            raise self.expected("']'")
        raw = self.text[at:end].strip()
        try:
            window = parse_duration(raw)
        except ValueError:
            raise self.fail(f"invalid duration {raw!r}", at,
                            "use a number and a unit (ms, s, m, h, d, w, y), e.g. 5m") from None
        if window.total_seconds() <= 0:
            raise self.fail(f"the window {raw!r} must be longer than zero", at)
        self.pos = end + 1
        self.expect(")")
        return _Range(function, selector, window)

    def selector(self, metric: str) -> Selector:
        matchers: list[Matcher] = []
        if self.accept("{"):
            while not self.accept("}"):
                matchers.append(self.matcher())
                if not self.accept(","):
                    if not self.accept("}"):
                        raise self.expected("',' or '}'")
                    break
        return Selector(metric=metric, matchers=tuple(matchers))

    def matcher(self) -> Matcher:
        label = self.name(_LABEL)
        if label is None:
            raise self.expected("a label name")
        self.skip()
        op = next((o for o in ("=~", "!~", "!=", "=") if self.text.startswith(o, self.pos)), "")
        if not op:
            raise self.expected("one of = != =~ !~")
        self.pos += len(op)
        self.skip()
        at = self.pos
        value = self.string()
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise self.fail(f"invalid regular expression {value!r} for label {label} "
                                f"({exc})", at) from None
        return Matcher(name=label, op=MatchOp(op), value=value)

    def string(self) -> str:
        quote = self.text[self.pos:self.pos + 1]
        if quote not in ('"', "'", "`"):
            raise self.expected("a quoted string")
        start, out = self.pos, list[str]()
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return "".join(out)
            if char == "\\" and quote != "`" and self.pos < len(self.text):
                escaped = self.text[self.pos]
                self.pos += 1
                # An unknown escape such as \d stays as written, so regexes read naturally.
                out.append(_ESCAPES.get(escaped, "\\" + escaped))
            else:
                out.append(char)
        raise self.fail("unterminated string", start, f"close it with {quote}")


def _constant(node: _Node) -> float:
    assert isinstance(node, _Number)
    return node.value


def _fold(node: _Binary) -> _Node:
    """Compute number-with-number arithmetic at parse time."""
    if isinstance(node.left, _Number) and isinstance(node.right, _Number):
        return _Number(_ARITH[node.op](node.left.value, node.right.value))
    return node


# -- evaluation ------------------------------------------------------------------------------

def _evaluate(node: _Node, store: SampleStore, at: datetime,
              lookback: timedelta) -> float | Vector:
    if isinstance(node, _Number):
        return node.value
    if isinstance(node, _Instant):
        return _vector(store.latest(node.selector, at, lookback))
    if isinstance(node, _Range):
        grown = store.increase(node.selector, node.window, at)
        if node.function == "rate":
            seconds = node.window.total_seconds()
            return _vector((labels, value / seconds) for labels, value in grown)
        return _vector(grown)
    if isinstance(node, _Aggregate):
        arg = _evaluate(node.arg, store, at, lookback)
        assert isinstance(arg, dict)
        return _aggregate(node, arg)
    left = _evaluate(node.left, store, at, lookback)
    right = _evaluate(node.right, store, at, lookback)
    return _binary(_ARITH[node.op], left, right)


def _vector(pairs: Iterable[tuple[Labels, float]]) -> Vector:
    return {labels: value for labels, value in pairs if not math.isnan(value)}


def _binary(apply: Callable[[float, float], float], left: float | Vector,
            right: float | Vector) -> float | Vector:
    if isinstance(left, dict) and isinstance(right, dict):
        # One-to-one matching on identical label sets, as Prometheus does without on().
        pairs = ((k, apply(v, right[k])) for k, v in left.items() if k in right)
    elif isinstance(left, dict):
        assert not isinstance(right, dict)
        pairs = ((k, apply(v, right)) for k, v in left.items())
    elif isinstance(right, dict):
        pairs = ((k, apply(left, v)) for k, v in right.items())
    else:
        return apply(left, right)
    return {k: v for k, v in pairs if not math.isnan(v)}


def _aggregate(node: _Aggregate, series: Vector) -> Vector:
    groups: dict[Labels, list[float]] = {}
    for labels, value in series.items():
        if node.labels is None:
            key = Labels()
        elif node.without:
            key = labels.without(*node.labels)
        else:
            key = Labels({k: labels[k] for k in node.labels if k in labels})
        groups.setdefault(key, []).append(value)
    return {key: _reduce(node.op, values) for key, values in groups.items()}


def _reduce(op: str, values: list[float]) -> float:
    if op == "sum":
        return math.fsum(values)
    if op == "avg":
        return math.fsum(values) / len(values)
    if op == "count":
        return float(len(values))
    return min(values) if op == "min" else max(values)
