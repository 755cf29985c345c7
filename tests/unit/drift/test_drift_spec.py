"""A DriftMonitor document reads into a checked spec, defaults filled in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import ConfigError, load_file
from monitor.drift.spec import DriftMonitorSpec, FeatureOverride, from_document

FULL = """\
apiVersion: watchkeeper.dev/v1
kind: DriftMonitor
metadata: {name: churn-inputs}
spec:
  model: churn
  baseline:
    format: feast
    path: features/churn/
    features: [tenure, monthly_charges, contract]
    categorical: [contract]
    entity_columns: [customer_id]
    start: 2026-01-01T00:00:00Z
    end: "2026-02-01T00:00:00+00:00"
  capture:
    format: sagemaker
    path: capture/churn/
    columns: [tenure, monthly_charges, contract]
    drop_fields: [email]
  window: 1h
  schedule: 15m
  tests: {alpha: 0.01, correction: bonferroni, effect_threshold: 0.05}
  features:
    tenure: {test: ks, threshold: 0.001}
    row_id: {enabled: false}
  alert: {severity: page, min_drifted_features: 2, labels: {team: ml}}
"""


def _read(tmp_path: Path, text: str) -> tuple[DriftMonitorSpec | None, list[str]]:
    path = tmp_path / "drift.yaml"
    path.write_text(text, encoding="utf-8")
    errors: list[ConfigError] = []
    (doc,) = load_file(path, "drift.yaml", errors)
    spec = from_document(doc, errors)
    return spec, [str(e) for e in errors]


def test_full_document(tmp_path: Path) -> None:
    spec, errors = _read(tmp_path, FULL)
    assert errors == [] and spec is not None
    assert (spec.name, spec.model, spec.source) == ("churn-inputs", "churn", "drift/churn-inputs")
    assert spec.baseline.format == "feast" and spec.baseline.entity_columns == ("customer_id",)
    assert spec.baseline.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert spec.baseline.end == datetime(2026, 2, 1, tzinfo=UTC)
    assert spec.capture.drop_fields == ("email",) and spec.capture.format == "sagemaker"
    assert (spec.window, spec.schedule) == (timedelta(hours=1), timedelta(minutes=15))
    assert (spec.alpha, spec.correction, spec.effect_threshold) == (0.01, "bonferroni", 0.05)
    assert spec.features == {"tenure": FeatureOverride(test="ks", threshold=0.001),
                             "row_id": FeatureOverride(enabled=False)}
    assert (spec.alert.severity, spec.alert.min_drifted_features) == ("page", 2)
    assert spec.alert.labels == {"team": "ml"} and spec.alert.runbook_url == "runbooks/drift.md"


def test_defaults(tmp_path: Path) -> None:
    spec, errors = _read(tmp_path, """\
apiVersion: watchkeeper.dev/v1
kind: DriftMonitor
metadata: {name: m}
spec:
  model: churn
  baseline: {path: train.parquet}
  capture: {path: capture/}
  window: 30m
""")
    assert errors == [] and spec is not None
    assert (spec.baseline.format, spec.capture.format) == ("parquet", "jsonl")
    assert spec.schedule == spec.window == timedelta(minutes=30)
    assert (spec.alpha, spec.correction, spec.effect_threshold) == (0.05, "benjamini-hochberg",
                                                                     None)
    assert spec.features == {} and spec.alert.min_drifted_features == 1


def test_a_problem_loads_nothing(tmp_path: Path) -> None:
    spec, errors = _read(tmp_path, FULL.replace("window: 1h", "window: 1 hour"))
    assert spec is None
    assert errors == ["drift.yaml:19:11: DriftMonitor \"churn-inputs\": spec.window: invalid "
                      "duration '1 hour'; use a number and a unit (ms, s, m, h, d, w, y), "
                      "e.g. 30s, 5m, 1h30m, 28d"]
