"""SageMaker Model Monitor files: ``statistics.json``, ``constraints.json``, violations.

The documented schemas (Model Monitor "Schema for Statistics / Constraints / Violations"):

* ``statistics.json`` — ``dataset.item_count``; per feature ``name``, ``inferred_type``
  (``Integral`` | ``Fractional`` | ``String`` | ``Unknown``) and either
  ``numerical_statistics`` (``common {num_present, num_missing}``, ``mean``, ``sum``,
  ``std_dev``, ``min``, ``max``, ``distribution.kll {buckets, sketch {parameters {c, k},
  data}}``) or ``string_statistics`` (``common``, ``distinct_count``,
  ``distribution.categorical.buckets [{value, count}]``).
* ``constraints.json`` — per feature ``completeness``, ``num_constraints.is_non_negative``,
  ``string_constraints.domains``; ``monitoring_config`` with the thresholds.
* ``constraint_violations.json`` — ``violations [{feature_name, constraint_check_type,
  description}]``.

A KLL sketch's ``data`` is its compactor levels: an item at level ``h`` stands for ``2**h``
values. statistics.json holds no exact values, so a numeric feature read back carries a
quantile sketch built from those weighted items — unless the sketch is a single level that
holds every present value, which *is* the exact data. Watchkeeper writes exact values that
way up to ``exact_limit`` and compacts larger ones into KLL levels. Facts the schema has no
field for (NaN/inf counts, logical dtype, kind, source) go under a ``watchkeeper`` key,
which SageMaker ignores, so a file written here reads back into the same profile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from monitor.drift.profile import BaselineProfile, FeatureKind, FeatureProfile
from monitor.drift.quality import QualityConstraints, QualityReport
from monitor.drift.sketch import QuantileSketch

__all__ = ["KLL_C", "KLL_K", "DriftResult", "DriftResults", "SageMakerConstraints",
           "constraints_document", "profile_from_statistics", "read_constraints",
           "read_statistics", "statistics_document", "violations_document",
           "write_constraints", "write_statistics", "write_violations"]

KLL_C = 0.64
KLL_K = 2048
_BUCKETS = 10
_DOMAIN_LIMIT = 20
_EXT = "watchkeeper"
_NUMERIC_TYPES = {"Integral": "int64", "Fractional": "float64"}
JSON = dict[str, Any]


# -- statistics.json -----------------------------------------------------------------------

def statistics_document(profile: BaselineProfile, *, exact_limit: int = 100_000) -> JSON:
    """Return *profile* as a statistics.json document.

    Numeric features with at most *exact_limit* exact values keep all of them as one KLL
    level; larger ones are compacted into KLL levels of at most about ``KLL_K`` items.
    """
    features: list[JSON] = []
    for feature in profile.features.values():
        features.append(_numeric_stats(feature, exact_limit)
                        if feature.kind is FeatureKind.NUMERIC else _string_stats(feature))
    ext: JSON = {"format": 1, "source": profile.source,
                 "created_at": profile.created_at.isoformat() if profile.created_at else None}
    return {"version": 0, "dataset": {"item_count": profile.rows}, "features": features,
            _EXT: ext}


def _common(feature: FeatureProfile) -> JSON:
    return {"num_present": feature.count, "num_missing": feature.missing}


def _ext(feature: FeatureProfile) -> JSON:
    return {"kind": feature.kind.value, "dtype": feature.dtype, "nan": feature.nan,
            "inf": feature.inf, "invalid": feature.invalid,
            "invalid_examples": list(feature.invalid_examples)}


def _num(value: float) -> float | None:
    """Return a finite float, or None: JSON has no NaN."""
    return float(value) if math.isfinite(value) else None


def _numeric_stats(feature: FeatureProfile, exact_limit: int) -> JSON:
    finite = feature.finite_count
    levels, k, error_bound = _levels(feature, exact_limit)
    lo, hi = feature.minimum, feature.maximum
    buckets: list[JSON] = []
    if finite > 0 and math.isfinite(lo) and math.isfinite(hi):
        edges = np.linspace(lo, hi, _BUCKETS + 1) if hi > lo else np.array([lo, hi])
        counts = _bucket_counts(levels, edges)
        buckets = [{"lower_bound": float(a), "upper_bound": float(b), "count": float(n)}
                   for a, b, n in zip(edges[:-1], edges[1:], counts, strict=True)]
    stats: JSON = {
        "common": _common(feature),
        "mean": _num(feature.mean),
        "sum": _num(feature.mean * finite) if finite else 0.0,
        "std_dev": _num(feature.std),
        "min": _num(lo), "max": _num(hi),
        "distribution": {"kll": {"buckets": buckets, "sketch": {
            "parameters": {"c": KLL_C, "k": float(k)},
            "data": [[float(v) for v in level] for level in levels]}}},
    }
    inferred = "Integral" if feature.dtype in ("int64", "bool") else "Fractional"
    return {"name": feature.name, "inferred_type": inferred, "numerical_statistics": stats,
            _EXT: {**_ext(feature), "error_bound": error_bound}}


def _bucket_counts(levels: Sequence[np.ndarray], edges: np.ndarray) -> np.ndarray:
    """Count weighted KLL items per bucket; the last bucket includes its upper bound."""
    counts = np.zeros(max(len(edges) - 1, 1))
    for h, level in enumerate(levels):
        if len(level):
            index = np.clip(np.searchsorted(edges, level, side="right") - 1, 0, len(counts) - 1)
            counts += np.bincount(index, minlength=len(counts)) * float(2 ** h)
    return counts


def _string_stats(feature: FeatureProfile) -> JSON:
    buckets = [{"value": value, "count": count} for value, count in feature.categories.items()]
    return {"name": feature.name, "inferred_type": "String",
            "string_statistics": {"common": _common(feature),
                                  "distinct_count": float(len(feature.categories)),
                                  "distribution": {"categorical": {"buckets": buckets}}},
            _EXT: _ext(feature)}


def write_statistics(profile: BaselineProfile, path: str | Path, *,
                     exact_limit: int = 100_000) -> None:
    """Write *profile* as a statistics.json file."""
    _write_json(Path(path), statistics_document(profile, exact_limit=exact_limit))


def read_statistics(path: str | Path) -> BaselineProfile:
    """Read a statistics.json file (SageMaker's or ours) into a baseline profile.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not JSON, or not in the statistics.json shape (the message names the feature and
        the key).
    """
    return profile_from_statistics(_read_json(Path(path)), source=str(path))


def profile_from_statistics(doc: Mapping[str, Any], *, source: str = "") -> BaselineProfile:
    """Return the baseline profile a statistics.json document describes."""
    where = source or "statistics.json"
    features_doc = doc.get("features")
    if not isinstance(features_doc, list):
        raise ValueError(f"{where}: no features list; is this a statistics.json file?")
    dataset = doc.get("dataset") or {}
    ext = doc.get(_EXT) or {}
    features: dict[str, FeatureProfile] = {}
    for i, raw in enumerate(features_doc):
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: features[{i}] has no name")
        try:
            features[name] = _feature(name, raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: feature {name!r}: {exc}") from exc
    rows = dataset.get("item_count") if isinstance(dataset, dict) else None
    if rows is None:
        rows = max((f.count + f.missing for f in features.values()), default=0)
    if not isinstance(ext, dict):
        ext = {}
    created = ext.get("created_at")
    try:
        moment = datetime.fromisoformat(created) if created else None
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {_EXT}.created_at {created!r} is not an ISO time") from None
    return BaselineProfile(features=features, rows=int(rows),
                           source=str(ext["source"]) if "source" in ext else source,
                           created_at=moment)


def _feature(name: str, raw: Mapping[str, Any]) -> FeatureProfile:
    found = raw.get(_EXT)
    ext: Mapping[str, Any] = found if isinstance(found, dict) else {}
    inferred = raw.get("inferred_type", "Unknown")
    if "numerical_statistics" in raw:
        return _numeric_feature(name, raw["numerical_statistics"], inferred, ext)
    stats = raw.get("string_statistics") or {}
    common = stats.get("common") or {}
    buckets = (((stats.get("distribution") or {}).get("categorical") or {})
               .get("buckets") or [])
    categories = {str(b["value"]): int(b["count"]) for b in buckets}
    kind = FeatureKind(ext.get("kind", FeatureKind.CATEGORICAL.value))
    return FeatureProfile(name=name, kind=kind, dtype=str(ext.get("dtype", "string")),
                          count=int(common.get("num_present", sum(categories.values()))),
                          missing=int(common.get("num_missing", 0)), categories=categories)


def _numeric_feature(name: str, stats: Mapping[str, Any], inferred: str,
                     ext: Mapping[str, Any]) -> FeatureProfile:
    common = stats.get("common") or {}
    count, missing = int(common.get("num_present", 0)), int(common.get("num_missing", 0))
    nan, inf, invalid = (int(ext.get(key, 0)) for key in ("nan", "inf", "invalid"))
    kll = (stats.get("distribution") or {}).get("kll") or {}
    sketch_doc = kll.get("sketch") or {}
    data = sketch_doc.get("data") or []
    k = int((sketch_doc.get("parameters") or {}).get("k", KLL_K))
    levels = [np.asarray(level, dtype=np.float64) for level in data]
    values: np.ndarray | None = None
    sketch: QuantileSketch | None = None
    finite = count - nan - inf - invalid
    if len(levels) == 1 and levels[0].size == finite:
        values = np.sort(levels[0])
    elif any(level.size for level in levels):
        sketch = QuantileSketch.from_levels(levels, k=k,
                                            error_bound=int(ext.get("error_bound", 0)))
    elif kll.get("buckets"):
        sketch = _sketch_from_buckets(kll["buckets"])
    dtype = str(ext.get("dtype", _NUMERIC_TYPES.get(inferred, "float64")))
    return FeatureProfile(name=name, kind=FeatureKind.NUMERIC, dtype=dtype, count=count,
                          missing=missing, nan=nan, inf=inf, invalid=invalid,
                          invalid_examples=tuple(ext.get("invalid_examples", ())),
                          values=values, sketch=sketch,
                          minimum=_float(stats.get("min")), maximum=_float(stats.get("max")),
                          mean=_float(stats.get("mean")), std=_float(stats.get("std_dev")))


def _float(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


# -- KLL levels ----------------------------------------------------------------------------

def _levels(feature: FeatureProfile, exact_limit: int) -> tuple[list[np.ndarray], int, int]:
    """Return a feature's KLL levels, their ``k`` and their rank-error bound."""
    if feature.values is not None:
        values = np.asarray(feature.values, dtype=np.float64)
        if values.size <= exact_limit:
            return [values], KLL_K, 0
        sketch = QuantileSketch(k=KLL_K)
        sketch.update(values)
        return list(sketch.levels), sketch.k, sketch.error_bound
    if feature.sketch is not None:
        return list(feature.sketch.levels), feature.sketch.k, feature.sketch.error_bound
    return [], KLL_K, 0


def _sketch_from_buckets(buckets: Sequence[Mapping[str, Any]]) -> QuantileSketch:
    """Return a coarse sketch from KLL buckets alone: each bucket's count at its middle."""
    mids = np.array([(float(b["lower_bound"]) + float(b["upper_bound"])) / 2 for b in buckets])
    counts = np.array([round(float(b["count"])) for b in buckets])
    return QuantileSketch.from_weighted(mids, counts)


# -- constraints.json ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class SageMakerConstraints:
    """A constraints.json file, read: per-feature constraints and the monitoring config."""

    inferred_types: Mapping[str, str] = field(default_factory=dict)
    completeness: Mapping[str, float] = field(default_factory=dict)
    non_negative: Mapping[str, bool] = field(default_factory=dict)
    domains: Mapping[str, frozenset[str]] = field(default_factory=dict)
    evaluate_constraints: bool = True
    emit_metrics: bool = True
    datatype_check_threshold: float = 1.0
    domain_content_threshold: float = 1.0
    perform_comparison: bool = True
    comparison_threshold: float = 0.1
    comparison_method: str = "Robust"

    def to_quality(self, base: QualityConstraints | None = None) -> QualityConstraints:
        """Return *base* (the defaults if None) with the thresholds these constraints set.

        SageMaker's ``domain_content_threshold`` is the share of values that must lie in
        the domain, so up to ``1 - threshold`` unseen values pass.
        """
        unseen = max(0.0, min(1.0, 1.0 - self.domain_content_threshold))
        return replace(base or QualityConstraints(), min_completeness=dict(self.completeness),
                       domains=dict(self.domains), unseen_share=unseen)


def constraints_document(profile: BaselineProfile, *, domain_limit: int = _DOMAIN_LIMIT,
                         completeness_slack: float = 0.0,
                         comparison_threshold: float = 0.1) -> JSON:
    """Return constraints.json suggested from *profile*, as SageMaker's baselining does.

    Completeness is the baseline's present share (less *completeness_slack*); categorical
    features with at most *domain_limit* levels get their levels as the domain.
    """
    features: list[JSON] = []
    for f in profile.features.values():
        share = f.count / max(f.count + f.missing, 1)
        entry: JSON = {"name": f.name, "inferred_type": _inferred(f),
                       "completeness": round(max(0.0, share - completeness_slack), 6)}
        if f.kind is FeatureKind.NUMERIC:
            entry["num_constraints"] = {"is_non_negative": bool(f.minimum >= 0)}
        elif 0 < len(f.categories) <= domain_limit:
            entry["string_constraints"] = {"domains": sorted(f.categories)}
        features.append(entry)
    return {"version": 0, "features": features, "monitoring_config": {
        "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0, "domain_content_threshold": 1.0,
        "distribution_constraints": {"perform_comparison": "Enabled",
                                     "comparison_threshold": comparison_threshold,
                                     "comparison_method": "Robust"}}}


def _inferred(feature: FeatureProfile) -> str:
    if feature.kind is FeatureKind.CATEGORICAL:
        return "String"
    return "Integral" if feature.dtype in ("int64", "bool") else "Fractional"


def write_constraints(profile: BaselineProfile, path: str | Path, *,
                      domain_limit: int = _DOMAIN_LIMIT, completeness_slack: float = 0.0,
                      comparison_threshold: float = 0.1) -> None:
    """Write the constraints suggested from *profile* as a constraints.json file."""
    _write_json(Path(path), constraints_document(
        profile, domain_limit=domain_limit, completeness_slack=completeness_slack,
        comparison_threshold=comparison_threshold))


def read_constraints(path: str | Path) -> SageMakerConstraints:
    """Read a constraints.json file.

    Raises
    ------
    ValueError
        Not JSON or not in the constraints.json shape (naming the feature and key).
    """
    doc, where = _read_json(Path(path)), str(path)
    features = doc.get("features", [])
    if not isinstance(features, list):
        raise ValueError(f"{where}: features must be a list")
    types: dict[str, str] = {}
    completeness: dict[str, float] = {}
    non_negative: dict[str, bool] = {}
    domains: dict[str, frozenset[str]] = {}
    for i, raw in enumerate(features):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ValueError(f"{where}: features[{i}] must be an object with a name")
        name = raw["name"]
        types[name] = str(raw.get("inferred_type", "Unknown"))
        if "completeness" in raw:
            completeness[name] = _share(raw["completeness"], f"{where}: {name}.completeness")
        num = raw.get("num_constraints") or {}
        if "is_non_negative" in num:
            non_negative[name] = bool(num["is_non_negative"])
        strings = raw.get("string_constraints") or {}
        if "domains" in strings:
            domains[name] = frozenset(str(v) for v in strings["domains"])
    config = doc.get("monitoring_config") or {}
    dist = config.get("distribution_constraints") or {}
    return SageMakerConstraints(
        inferred_types=types, completeness=completeness, non_negative=non_negative,
        domains=domains,
        evaluate_constraints=config.get("evaluate_constraints", "Enabled") == "Enabled",
        emit_metrics=config.get("emit_metrics", "Enabled") == "Enabled",
        datatype_check_threshold=_share(config.get("datatype_check_threshold", 1.0),
                                        f"{where}: monitoring_config.datatype_check_threshold"),
        domain_content_threshold=_share(config.get("domain_content_threshold", 1.0),
                                        f"{where}: monitoring_config.domain_content_threshold"),
        perform_comparison=dist.get("perform_comparison", "Enabled") == "Enabled",
        comparison_threshold=float(dist.get("comparison_threshold", 0.1)),
        comparison_method=str(dist.get("comparison_method",
                                       dist.get("comparion_method", "Robust"))))


def _share(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{where}: expected a number between 0 and 1, got {value!r}")
    return float(value)


# -- constraint_violations.json ------------------------------------------------------------

class DriftResult(Protocol):
    """What a violation needs of one feature's drift result (``check.FeatureResult``)."""

    @property
    def feature(self) -> str: ...
    @property
    def test(self) -> str: ...
    @property
    def statistic(self) -> float | None: ...
    @property
    def p_value(self) -> float | None: ...
    @property
    def threshold(self) -> float: ...
    @property
    def drifted(self) -> bool: ...


class DriftResults(Protocol):
    """What a violation file needs of a drift report (``check.DriftReport``)."""

    @property
    def features(self) -> Sequence[DriftResult]: ...


def violations_document(quality: QualityReport | None = None,
                        drift: DriftResults | None = None) -> JSON:
    """Return constraint_violations.json for a quality report and/or a drift report.

    Each drifted feature of *drift* is a ``baseline_drift_check`` violation.
    """
    violations: list[JSON] = []
    if quality is not None:
        violations.extend(quality.to_sagemaker_violations()["violations"])
    if drift is not None:
        for result in drift.features:
            if result.drifted:
                figures = ([] if result.statistic is None
                           else [f"statistic {result.statistic:.4g}"])
                if result.p_value is not None:
                    figures.append(f"p-value {result.p_value:.3g}")
                violations.append({
                    "feature_name": result.feature,
                    "constraint_check_type": "baseline_drift_check",
                    "description": f"{result.feature}: drifted by the {result.test} test ("
                                   + ", ".join(figures) + f"; threshold {result.threshold:g})"})
    return {"violations": violations}


def write_violations(path: str | Path, quality: QualityReport | None = None,
                     drift: DriftResults | None = None) -> None:
    """Write constraint_violations.json for the given reports."""
    _write_json(Path(path), violations_document(quality, drift))


# -- files ---------------------------------------------------------------------------------

def _write_json(path: Path, doc: JSON) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _read_json(path: Path) -> JSON:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON file: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object at the top")
    return doc
