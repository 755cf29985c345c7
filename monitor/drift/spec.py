"""The ``kind: DriftMonitor`` file: which baseline, which capture, how often, which tests.

.. code-block:: yaml

    apiVersion: watchkeeper.dev/v1
    kind: DriftMonitor
    metadata: {name: churn-inputs}
    spec:
      model: churn
      baseline:
        format: parquet              # parquet | feast | sagemaker
        path: data/churn-train.parquet   # a file, a folder or an fsspec URL
        features: [tenure, monthly_charges, contract]   # default: every column
        categorical: [contract]      # default: inferred from the values
        # feast: entity_columns, timestamp_column (event_timestamp), start, end
        # sagemaker: statistics: statistics.json, constraints: constraints.json
      capture:
        format: jsonl                # jsonl | sagemaker
        path: capture/churn/
        columns: [tenure, monthly_charges, contract]   # CSV capture bodies need names
        drop_fields: [email, customer_id]              # PII: dropped before anything else
      window: 1h                     # each check reads the last hour of capture
      schedule: 15m                  # and runs this often (default: the window)
      tests:
        alpha: 0.05
        correction: benjamini-hochberg   # | bonferroni | none
        effect_threshold: 0.1        # optional: one effect size gate for every feature
      features:                      # per-feature overrides
        tenure: {test: ks, threshold: 0.01}
        customer_segment: {test: psi, threshold: 0.2}
        row_id: {enabled: false}
      alert:
        severity: ticket
        min_drifted_features: 1      # the alert fires when this many features drift
        runbook_url: runbooks/drift.md

Relative paths are read from the rules folder. Unknown keys, unknown tests and
formats, bad durations and thresholds are reported with their ``file:line:col``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from monitor.config.documents import Document
from monitor.config.errors import ConfigError
from monitor.config.schema import Fields

__all__ = ["BASELINE_FORMATS", "CAPTURE_FORMATS", "CORRECTIONS", "KIND", "TEST_NAMES",
           "BaselineSource", "CaptureSource", "DriftAlert", "DriftMonitorSpec",
           "FeatureOverride", "from_document"]

KIND = "DriftMonitor"
BASELINE_FORMATS = ("parquet", "feast", "sagemaker")
CAPTURE_FORMATS = ("jsonl", "sagemaker")
CORRECTIONS = ("benjamini-hochberg", "bonferroni", "none")
TEST_NAMES = ("ks", "chisquare", "psi", "jensenshannon", "hellinger", "wasserstein",
              "anderson", "mmd")
_SPEC = {"model", "baseline", "capture", "window", "schedule", "tests", "features", "alert"}
_BASELINE = {"format", "path", "features", "categorical", "entity_columns",
             "timestamp_column", "start", "end", "statistics", "constraints"}
_CAPTURE = {"format", "path", "columns", "output_columns", "drop_fields", "time_field"}
_TESTS = {"alpha", "correction", "effect_threshold"}
_FEATURE = {"test", "threshold", "effect_threshold", "enabled"}
_ALERT = {"severity", "min_drifted_features", "runbook_url", "labels", "annotations"}


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineSource:
    """Where the baseline comes from."""

    format: str
    path: str = ""
    features: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    entity_columns: tuple[str, ...] = ()
    timestamp_column: str = "event_timestamp"
    start: datetime | None = None
    end: datetime | None = None
    statistics: str = ""
    constraints: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureSource:
    """Where the production inputs and outputs are captured."""

    format: str
    path: str
    columns: tuple[str, ...] = ()
    output_columns: tuple[str, ...] = ()
    drop_fields: tuple[str, ...] = ()
    time_field: str = "time"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureOverride:
    """One feature's own test, thresholds, or exclusion."""

    test: str | None = None
    threshold: float | None = None
    effect_threshold: float | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftAlert:
    """The alert a drifting window raises."""

    severity: str = "ticket"
    min_drifted_features: int = 1
    runbook_url: str = "runbooks/drift.md"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftMonitorSpec:
    """One ``DriftMonitor`` document, checked."""

    name: str
    model: str
    baseline: BaselineSource
    capture: CaptureSource
    window: timedelta
    schedule: timedelta
    alpha: float = 0.05
    correction: str = "benjamini-hochberg"
    effect_threshold: float | None = None
    features: Mapping[str, FeatureOverride] = field(default_factory=dict)
    alert: DriftAlert = field(default_factory=DriftAlert)
    where: str = ""

    @property
    def source(self) -> str:
        """Return the signal source of this monitor, ``drift/<name>``."""
        return f"drift/{self.name}"


def from_document(doc: Document, errors: list[ConfigError]) -> DriftMonitorSpec | None:
    """Read one ``DriftMonitor`` document; every problem goes to *errors*.

    Returns ``None`` when the document has any problem, so nothing is loaded half-way.
    """
    if doc.kind != KIND:
        raise ValueError(f"from_document reads kind {KIND}, got {doc.kind!r}")
    before = len(errors)
    doc.check_api_version(errors)
    f = doc.fields(errors, _SPEC)
    model = f.str("model", required=True)
    baseline = _baseline(f.sub("baseline", _BASELINE, required=True))
    capture = _capture(f.sub("capture", _CAPTURE)) if f.has("capture") else None
    if not f.has("capture"):
        f.error(f.where, "spec.capture", "required key is missing",
                "add capture: {format: jsonl, path: FOLDER}")
    window = f.duration("window", required=True)
    schedule = f.duration("schedule", window)
    t = f.sub("tests", _TESTS)
    alpha = _fraction(t, "alpha", 0.05)
    correction = t.choice("correction", CORRECTIONS, "benjamini-hochberg")
    effect = _positive(t, "effect_threshold")
    features = _features(f)
    alert = _alert(f.sub("alert", _ALERT))
    if len(errors) > before or baseline is None or capture is None:
        return None
    return DriftMonitorSpec(name=doc.name, model=model, baseline=baseline, capture=capture,
                            window=window, schedule=schedule, alpha=alpha,
                            correction=correction, effect_threshold=effect,
                            features=features, alert=alert, where=str(doc.where))


def _names(f: Fields, key: str) -> tuple[str, ...]:
    out: list[str] = []
    for _i, item, where in f.items(key):
        if not isinstance(item, str) or not item:
            f.error(where, f"{f.path}.{key}", f"expected a column name, got {item!r}")
        else:
            out.append(item)
    return tuple(out)


def _time(f: Fields, key: str) -> datetime | None:
    raw = f.node.get(key)
    if raw is None:
        return None
    if isinstance(raw, datetime) and raw.tzinfo is not None:
        return raw
    if isinstance(raw, date | datetime):
        f.error(f.at(key), f"{f.path}.{key}", f"time {raw.isoformat()} has no time zone",
                "write an RFC 3339 time such as 2026-01-01T00:00:00Z")
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        f.error(f.at(key), f"{f.path}.{key}", f"invalid time {raw!r}",
                "write an RFC 3339 time such as 2026-01-01T00:00:00Z")
        return None
    if moment.tzinfo is None:
        f.error(f.at(key), f"{f.path}.{key}", f"time {raw!r} has no time zone",
                "add Z or an offset such as +02:00")
        return None
    return moment


def _baseline(f: Fields) -> BaselineSource | None:
    before = len(f.errors)
    fmt = f.choice("format", BASELINE_FORMATS, "parquet")
    path = f.str("path")
    statistics, constraints = f.str("statistics"), f.str("constraints")
    if fmt == "sagemaker":
        if not statistics:
            f.error(f.where, f"{f.path}.statistics", "a sagemaker baseline needs statistics",
                    "add statistics: path/to/statistics.json")
    elif not path:
        f.error(f.where, f"{f.path}.path", "required key is missing",
                "add path: a parquet file, a folder of them, or an fsspec URL")
    feast_only = ("entity_columns", "start", "end")
    if fmt != "feast":
        for key in feast_only:
            f.check(key, not f.has(key), f"{key} is only read for format: feast",
                    "remove it, or set format: feast")
    start, end = _time(f, "start"), _time(f, "end")
    if start is not None and end is not None and end <= start:
        f.error(f.at("end"), f"{f.path}.end", "end must be after start")
    if len(f.errors) > before:
        return None
    return BaselineSource(format=fmt, path=path, features=_names(f, "features"),
                          categorical=_names(f, "categorical"),
                          entity_columns=_names(f, "entity_columns"),
                          timestamp_column=f.str("timestamp_column", "event_timestamp"),
                          start=start, end=end, statistics=statistics, constraints=constraints)


def _capture(f: Fields) -> CaptureSource | None:
    before = len(f.errors)
    fmt = f.choice("format", CAPTURE_FORMATS, "jsonl")
    path = f.str("path", required=True)
    if len(f.errors) > before:
        return None
    return CaptureSource(format=fmt, path=path, columns=_names(f, "columns"),
                         output_columns=_names(f, "output_columns"),
                         drop_fields=_names(f, "drop_fields"),
                         time_field=f.str("time_field", "time"))


def _fraction(f: Fields, key: str, default: float) -> float:
    value = f.float(key, default)
    if f.has(key) and not 0 < value < 1:
        f.error(f.at(key), f"{f.path}.{key}", f"must be between 0 and 1, got {value}",
                "write e.g. 0.05")
        return default
    return value


def _positive(f: Fields, key: str) -> float | None:
    if not f.has(key):
        return None
    value = f.float(key)
    if value <= 0:
        f.error(f.at(key), f"{f.path}.{key}", f"must be positive, got {value}")
        return None
    return value


def _features(f: Fields) -> dict[str, FeatureOverride]:
    raw = f.node.get("features")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        f.error(f.at("features"), "spec.features", "expected a mapping of feature names",
                "write features: {tenure: {test: ks}}")
        return {}
    sub = f.sub("features", set(raw))
    out: dict[str, FeatureOverride] = {}
    for name in raw:
        g = sub.sub(str(name), _FEATURE)
        test = g.choice("test", TEST_NAMES, "") if g.has("test") else None
        threshold = _positive(g, "threshold")
        effect = _positive(g, "effect_threshold")
        out[str(name)] = FeatureOverride(test=test or None, threshold=threshold,
                                         effect_threshold=effect,
                                         enabled=g.bool("enabled", True))
    return out


def _alert(f: Fields) -> DriftAlert:
    count = f.int("min_drifted_features", 1)
    if count < 1:
        f.error(f.at("min_drifted_features"), f"{f.path}.min_drifted_features",
                f"must be at least 1, got {count}")
        count = 1
    return DriftAlert(severity=f.str("severity", "ticket"), min_drifted_features=count,
                      runbook_url=f.str("runbook_url", "runbooks/drift.md"),
                      labels=f.str_map("labels"), annotations=f.str_map("annotations"))
