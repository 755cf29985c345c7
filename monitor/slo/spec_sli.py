"""The ``sli:`` block of a native ``kind: SLO``: one key per SLI kind.

::

    sli:
      events: {bad: 'req_total{code=~"5.."}', total: req_total}     # or good:
      latency: {histogram: 'http_request_duration_seconds{job="api"}', threshold: 0.3}
      probe: {selector: 'up{job="api"}'}
      bool_gauge: {selector: model_loaded}
      drift_checks: {monitor: churn-drift}
      ground_truth: {predictions: capture.jsonl, labels: labels.jsonl, label_lag: 1h}
      promql: {error_query: '...[{{.window}}]', total_query: '...[{{.window}}]'}
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config.schema import Fields
from monitor.core.matchers import Selector, parse_selector
from monitor.slo.model import (
    SLI,
    BoolGaugeSLI,
    DriftChecksSLI,
    EventsSLI,
    GroundTruthSLI,
    LatencySLI,
    ProbeSLI,
    PromQLSLI,
)

__all__ = ["SLI_KINDS", "is_number", "read_sli"]

#: The keys under ``sli:``, one per SLI kind; an SLO sets exactly one.
SLI_KINDS = ("events", "latency", "probe", "bool_gauge", "drift_checks", "ground_truth",
             "promql")
_GROUND_TRUTH = {"predictions", "labels", "join_key", "prediction_field", "label_field",
                 "threshold", "label_lag"}


def _selector(f: Fields, key: str, *, required: bool = False) -> Selector | None:
    if not f.has(key):
        if required:
            f.error(f.where, f"{f.path}.{key}", "required key is missing",
                    'add a selector such as up{job="api"}')
        return None
    if f.node[key] == "":
        f.error(f.at(key), f"{f.path}.{key}", "selector is empty",
                'write metric_name{label="value"}')
        return None
    return f.convert(key, parse_selector, None)


def read_sli(f: Fields) -> SLI | None:
    """Read ``spec.sli``: exactly one SLI kind; problems go to *f*'s errors."""
    sli = f.sub("sli", set(SLI_KINDS), required=True)
    if not f.has("sli"):
        return None
    kinds = [k for k in SLI_KINDS if sli.has(k)]
    if not kinds:
        if not sli.node:  # an unknown key was reported with a did-you-mean instead
            sli.error(sli.where, "spec.sli", "no SLI kind is set",
                      "add one of: " + ", ".join(SLI_KINDS))
        return None
    for extra in kinds[1:]:
        sli.error(sli.node.key_at(extra), f"spec.sli.{extra}",
                  f"two SLI kinds are set ({kinds[0]} and {extra})",
                  "an SLO measures one SLI; keep one, or write a second SLO")
    if len(kinds) > 1:
        return None
    return _READERS[kinds[0]](sli)


def _events(sli: Fields) -> SLI | None:
    events = sli.sub("events", {"good", "bad", "total"})
    has_good, has_bad = events.has("good"), events.has("bad")
    if has_good and has_bad:
        events.error(events.at("bad"), events.path, "both good and bad are set",
                     "keep one: good counts the successful events, bad the failed ones")
    elif not (has_good or has_bad):
        events.error(events.where, events.path, "neither good nor bad is set",
                     "add good: (the successful events) or bad: (the failed events)")
    if not events.has("total"):
        events.error(events.where, f"{events.path}.total", "required key is missing",
                     "add total: with a selector of all events")
    good, bad, total = (_selector(events, "good"), _selector(events, "bad"),
                        _selector(events, "total"))
    if total is None or (good is None) == (bad is None):
        return None
    return EventsSLI(total=total, good=good, bad=bad)


def _latency(sli: Fields) -> SLI | None:
    lat = sli.sub("latency", {"histogram", "threshold"})
    histogram = _selector(lat, "histogram", required=True)
    if isinstance(lat.node.get("threshold"), str):  # a duration: 300ms, 0.3s
        threshold = lat.duration("threshold").total_seconds()
    else:
        threshold = lat.float("threshold", required=True)
        lat.check("threshold", not is_number(lat, "threshold") or threshold > 0,
                  f"threshold must be > 0 seconds, got {threshold:g}",
                  "use a bucket bound of the histogram in seconds, e.g. 0.25")
    if histogram is not None:
        if histogram.metric.endswith(("_bucket", "_count", "_sum")):
            base = histogram.metric.rsplit("_", 1)[0]
            lat.error(lat.at("histogram"), "spec.sli.latency.histogram",
                      f"{histogram.metric!r} is a series of the histogram, not its name",
                      f"use the base name {base!r}; _bucket and _count are added")
            return None
        if any(m.name == "le" for m in histogram.matchers):
            lat.error(lat.at("histogram"), "spec.sli.latency.histogram",
                      "the selector sets le itself", "remove le; threshold: chooses the bucket")
            return None
    if histogram is None or not threshold > 0:
        return None
    return LatencySLI(histogram=histogram, threshold_seconds=threshold)


def _gauge(kind: str) -> Callable[[Fields], SLI | None]:
    def read(sli: Fields) -> SLI | None:
        g = sli.sub(kind, {"selector"})
        selector = _selector(g, "selector", required=True)
        if selector is None:
            return None
        return ProbeSLI(selector=selector) if kind == "probe" else BoolGaugeSLI(selector=selector)
    return read


def _drift_checks(sli: Fields) -> SLI | None:
    d = sli.sub("drift_checks", {"monitor"})
    monitor = d.str("monitor", required=True)
    return DriftChecksSLI(monitor=monitor) if monitor else None


def _ground_truth(sli: Fields) -> SLI | None:
    g = sli.sub("ground_truth", _GROUND_TRUTH)
    defaults = GroundTruthSLI(predictions="-", labels="-")
    predictions, labels = g.str("predictions", required=True), g.str("labels", required=True)
    threshold = g.float("threshold", defaults.threshold)
    g.check("threshold", 0 <= threshold <= 1, f"threshold must be between 0 and 1, got "
            f"{threshold:g}", "a probability at or above it predicts the positive class")
    out = GroundTruthSLI(
        predictions=predictions, labels=labels, join_key=g.str("join_key", defaults.join_key),
        prediction_field=g.str("prediction_field", defaults.prediction_field),
        label_field=g.str("label_field", defaults.label_field), threshold=threshold,
        label_lag=g.duration("label_lag", defaults.label_lag))
    return out if predictions and labels else None


def _promql(sli: Fields) -> SLI | None:
    q = sli.sub("promql", {"error_query", "total_query", "error_ratio_query"})
    queries = {k: q.str(k) for k in ("error_query", "total_query", "error_ratio_query")}
    try:
        return PromQLSLI(**queries)
    except ValueError as exc:
        q.error(q.where, "spec.sli.promql", str(exc),
                "write error_query: and total_query: (events), or error_ratio_query: alone; "
                "put [{{.window}}] where the window goes")
        return None


_READERS = {"events": _events, "latency": _latency, "probe": _gauge("probe"),
            "bool_gauge": _gauge("bool_gauge"), "drift_checks": _drift_checks,
            "ground_truth": _ground_truth, "promql": _promql}


def is_number(f: Fields, key: str) -> bool:
    """Return whether *key* holds a number (not a boolean)."""
    value = f.node.get(key)
    return isinstance(value, (int, float)) and not isinstance(value, bool)
