"""PromQL for each SLI kind: the error ratio and event counts the generated rules record."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from monitor.config.durations import parse_duration
from monitor.core.matchers import Matcher, MatchOp, Selector
from monitor.slo.counting import DRIFT_CHECKS_METRIC
from monitor.slo.model import (
    BoolGaugeSLI,
    DriftChecksSLI,
    EventsSLI,
    LatencySLI,
    ProbeSLI,
    PromQLSLI,
    SLOSpec,
)

__all__ = [
    "SUBQUERY_STEPS",
    "SLIQueries",
    "duration",
    "go_float",
    "label_filter",
    "plain_float",
    "sli_queries",
]

#: Subqueries (bool gauges) read at most this many steps per window.
SUBQUERY_STEPS = 1440


# -- PromQL for each SLI kind ------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class SLIQueries:
    """PromQL for one SLI, given a window as Prometheus writes it (``5m``, ``4w``).

    ``counts`` returns the events and the bad events over a window, or is ``None`` for
    SLIs written as ratios (PromQL SLIs), which give Prometheus no event counts.
    ``primary`` selects the series whose absence means "no data".
    """

    error_ratio: Callable[[str], str]
    counts: Callable[[str], tuple[str, str]] | None
    primary: str


def sli_queries(spec: SLOSpec) -> SLIQueries:
    """Return the PromQL of *spec*'s SLI; raise ``ValueError`` for a kind Prometheus lacks."""
    sli, by = spec.sli, spec.group_by
    if isinstance(sli, PromQLSLI):
        return _promql_queries(sli)
    if isinstance(sli, EventsSLI):
        return _counter_queries(sli.total, good=sli.good, bad=sli.bad, by=by,
                                min_events=spec.min_events)
    if isinstance(sli, DriftChecksSLI):
        total = Selector(metric=DRIFT_CHECKS_METRIC, matchers=(
            Matcher(name="monitor", op=MatchOp.EQ, value=sli.monitor),))
        good = Selector(metric=DRIFT_CHECKS_METRIC, matchers=total.matchers + (
            Matcher(name="result", op=MatchOp.EQ, value="pass"),))
        return _counter_queries(total, good=good, bad=None, by=by, min_events=spec.min_events)
    if isinstance(sli, LatencySLI):
        name, matchers = sli.histogram.metric, sli.histogram.matchers
        good = Selector(metric=f"{name}_bucket",
                        matchers=matchers + (_le_matcher(sli.threshold_seconds),))
        return _counter_queries(Selector(metric=f"{name}_count", matchers=matchers), good=good,
                                bad=None, by=by, min_events=spec.min_events)
    if isinstance(sli, ProbeSLI):
        return _gauge_queries(str(sli.selector), by=by, min_events=spec.min_events)
    if isinstance(sli, BoolGaugeSLI):
        return _gauge_queries(str(sli.selector), by=by, min_events=spec.min_events,
                              positive=True)
    raise ValueError(f"SLO {spec.name!r}: a {type(sli).__name__} has no PromQL equivalent")


def _sum(expr: str, by: Sequence[str]) -> str:
    return f"sum by ({', '.join(by)}) ({expr})" if by else f"sum({expr})"


def _guard(total: str, count: str, min_events: float) -> str:
    """Return the denominator: *total* where there were events (at least *min_events*)."""
    if min_events > 0:
        return f"({total} and ({count} >= {go_float(min_events)}))"
    return f"({total} > 0)"


def _counter_queries(total: Selector, *, good: Selector | None, bad: Selector | None,
                     by: Sequence[str], min_events: float) -> SLIQueries:
    # A bad (or good) series often appears only with the first such event: ``or 0 * total``
    # counts its absence as zero instead of turning the ratio into "no data".
    def ratio(w: str) -> str:
        rate_total = _sum(f"rate({total}[{w}])", by)
        guard = _guard(rate_total, _sum(f"increase({total}[{w}])", by), min_events)
        if bad is not None:
            return (f"(\n  {_sum(f'rate({bad}[{w}])', by)}\n  or\n  0 * {rate_total}\n)\n"
                    f"/\n{guard}\n")
        return (f"clamp_min(\n  1 - (\n    {_sum(f'rate({good}[{w}])', by)}\n    or\n"
                f"    0 * {rate_total}\n  )\n  /\n  {guard},\n  0\n)\n")

    def counts(w: str) -> tuple[str, str]:
        events = _sum(f"increase({total}[{w}])", by)
        if bad is not None:
            return events, f"{_sum(f'increase({bad}[{w}])', by)}\nor\n0 * {events}\n"
        return events, (f"clamp_min(\n  {events}\n  -\n  (\n"
                        f"    {_sum(f'increase({good}[{w}])', by)}\n    or\n"
                        f"    0 * {events}\n  ),\n  0\n)\n")

    return SLIQueries(error_ratio=ratio, counts=counts, primary=str(total))


def _gauge_queries(selector: str, *, by: Sequence[str], min_events: float,
                   positive: bool = False) -> SLIQueries:
    # Probes (0 or 1 per sample) are counted from their raw samples; a bool gauge is
    # first turned into 0/1 with ``> bool 0``, sampled at the evaluation interval, or in
    # at most SUBQUERY_STEPS steps over windows longer than a day (a bounded cost, as the
    # engine's timeslices).
    def series(w: str) -> str:
        if not positive:
            return f"{selector}[{w}]"
        window = parse_duration(w)
        step = duration(window / SUBQUERY_STEPS) if window > timedelta(days=1) else ""
        return f"({selector} > bool 0)[{w}:{step}]"

    def ratio(w: str) -> str:
        samples = _sum(f"count_over_time({series(w)})", by)
        good = _sum(f"sum_over_time({series(w)})", by)
        return f"1 - (\n  {good}\n  /\n  {_guard(samples, samples, min_events)}\n)\n"

    def counts(w: str) -> tuple[str, str]:
        samples = _sum(f"count_over_time({series(w)})", by)
        good = _sum(f"sum_over_time({series(w)})", by)
        return samples, f"{samples}\n-\n{good}\n"

    return SLIQueries(error_ratio=ratio, counts=counts, primary=selector)


def _promql_queries(sli: PromQLSLI) -> SLIQueries:
    # Sloth's shapes: "(error)\n/\n(total)\n" for events, "(ratio)" for a raw ratio.
    def fill(query: str, w: str) -> str:
        return _WINDOW_VAR.sub(w, query)

    def ratio(w: str) -> str:
        if sli.error_ratio_query:
            return f"({fill(sli.error_ratio_query, w)})"
        return f"({fill(sli.error_query, w)})\n/\n({fill(sli.total_query, w)})\n"

    primary = _FIRST_SELECTOR.search(sli.total_query or sli.error_ratio_query)
    return SLIQueries(error_ratio=ratio, counts=None,
                      primary=primary.group(0) if primary else "up")


def _le_matcher(threshold: float) -> Matcher:
    # Go clients write bucket bounds as 1, Python ones as 1.0: accept both spellings.
    text = go_float(threshold)
    if threshold.is_integer() and "e" not in text:
        return Matcher(name="le", op=MatchOp.RE, value=f"{text}(\\.0)?")
    return Matcher(name="le", op=MatchOp.EQ, value=text)


def label_filter(labels: Mapping[str, str]) -> str:
    """Return ``{a="x", b="y"}``, sorted, as Sloth writes its id filters."""
    def quote(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"')
    return "{" + ", ".join(f'{k}="{quote(v)}"' for k, v in sorted(labels.items())) + "}"


def duration(value: timedelta) -> str:
    """Return *value* as Prometheus writes a duration: weeks and years only when exact.

    Examples
    --------
    >>> duration(timedelta(days=28)), duration(timedelta(days=30)), duration(timedelta(hours=1.5))
    ('4w', '30d', '1h30m')
    """
    ms = round(value.total_seconds() * 1000)
    if ms <= 0:
        return "0s"
    out = []
    for unit, size, exact in _UNITS:
        if exact and ms % size:
            continue
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def go_float(value: float) -> str:
    """Return *value* as Go's ``%g``/``%v`` prints it (shortest digits; exponent past 1e+06).

    Examples
    --------
    >>> go_float(14.4), go_float(6.0), go_float(1e6), go_float(1 - 0.999)
    ('14.4', '6', '1e+06', '0.0010000000000000009')
    """
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    e10 = len(digits) + exponent - 1
    if e10 < -4 or e10 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        out = f"{mantissa}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
    else:
        out = plain_float(abs(value))
    return ("-" if sign else "") + out


def plain_float(value: float) -> str:
    """Return *value* in shortest decimal digits without an exponent (Go's ``'f', -1``)."""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return text


_UNITS = (("y", 31_536_000_000, True), ("w", 604_800_000, True), ("d", 86_400_000, False),
          ("h", 3_600_000, False), ("m", 60_000, False), ("s", 1000, False), ("ms", 1, False))
_WINDOW_VAR = re.compile(r"\{\{\s*\.window\s*\}\}")
_FIRST_SELECTOR = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}")
