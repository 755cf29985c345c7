"""Check SLOs against what the store holds: selectors naming no series, bad latency buckets.

The rules folder can be read without a database, so these checks run only where one
with samples is at hand (``watchkeeper check`` after the service has scraped).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from monitor.config.errors import ConfigError, SourceLocation
from monitor.core.matchers import Selector
from monitor.slo.counting import SLIError, bucket_bound
from monitor.slo.model import (
    SLI,
    BoolGaugeSLI,
    DriftChecksSLI,
    EventsSLI,
    LatencySLI,
    ProbeSLI,
    SLOSpec,
)
from monitor.store.samples import SampleStore

__all__ = ["check_against_store", "selectors_of"]


def selectors_of(sli: SLI) -> list[tuple[str, Selector]]:
    """Return ``(key path, selector)`` for every store selector an SLI reads."""
    if isinstance(sli, EventsSLI):
        pairs = [("spec.sli.events.total", sli.total)]
        if sli.good is not None:
            pairs.append(("spec.sli.events.good", sli.good))
        if sli.bad is not None:
            pairs.append(("spec.sli.events.bad", sli.bad))
        return pairs
    if isinstance(sli, LatencySLI):
        base = sli.histogram
        return [("spec.sli.latency.histogram",
                 Selector(metric=f"{base.metric}_bucket", matchers=base.matchers)),
                ("spec.sli.latency.histogram",
                 Selector(metric=f"{base.metric}_count", matchers=base.matchers))]
    if isinstance(sli, ProbeSLI):
        return [("spec.sli.probe.selector", sli.selector)]
    if isinstance(sli, BoolGaugeSLI):
        return [("spec.sli.bool_gauge.selector", sli.selector)]
    return []  # drift checks and ground truth are not series the user names


def check_against_store(specs: Sequence[SLOSpec], samples: SampleStore) -> list[ConfigError]:
    """Return a problem for each selector that names no stored series, and each latency
    threshold that is not one of the histogram's bucket bounds.

    Selectors whose series may appear only later (a ``bad`` counter before the first
    failure) are still reported: the hint says so.
    """
    problems: list[ConfigError] = []
    metrics = samples.metrics()
    for spec in specs:
        if spec.source.value != "store" or isinstance(spec.sli, DriftChecksSLI):
            continue
        where = spec.where or SourceLocation("(rules)")
        context = f'SLO "{spec.name}"'
        for key, selector in selectors_of(spec.sli):
            if samples.series(selector):
                continue
            if selector.metric not in metrics:
                close = difflib.get_close_matches(selector.metric, metrics, n=1)
                hint = (f'did you mean "{close[0]}"?' if close
                        else "check the metric name against the target's /metrics")
                problem = f"selector {selector} names no series: no metric {selector.metric!r}"
            else:
                hint = ("the metric exists but no series matches the label matchers; a counter "
                        "of failures may appear only after the first failure")
                problem = f"selector {selector} names no series"
            problems.append(ConfigError(where, key, problem, hint, context))
        if isinstance(spec.sli, LatencySLI):
            bucket = Selector(metric=f"{spec.sli.histogram.metric}_bucket",
                              matchers=spec.sli.histogram.matchers)
            bounds = {labels.get("le", "") for labels in samples.series(bucket)} - {""}
            if bounds:
                try:
                    bucket_bound(spec.sli, bounds)
                except SLIError as exc:
                    problems.append(ConfigError(where, "spec.sli.latency.threshold", str(exc),
                                                "", context))
    return problems
