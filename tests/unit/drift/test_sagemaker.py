"""SageMaker Model Monitor files: statistics.json and constraints.json both ways, violations."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from monitor.drift.check import check
from monitor.drift.profile import BaselineProfile, FeatureKind, FeatureProfile, profile_columns
from monitor.drift.quality import quality
from monitor.drift.sagemaker import (
    KLL_K,
    SageMakerConstraints,
    constraints_document,
    profile_from_statistics,
    read_constraints,
    read_statistics,
    statistics_document,
    violations_document,
    write_constraints,
    write_statistics,
    write_violations,
)

DATA = Path(__file__).parent / "data"
RNG = np.random.default_rng(11)


def _profile(n: int = 300, *, exact_cap: int = 2_000_000) -> BaselineProfile:
    x: list[object] = [float(v) for v in RNG.normal(50, 10, n)]
    x[:4] = [None, math.nan, math.inf, "oops"]
    columns: dict[str, list[object]] = {
        "x": x, "age": [int(v) for v in RNG.integers(18, 90, n)],
        "plan": [str(v) for v in RNG.choice(["basic", "pro", "max"], n)],
        "empty": [None] * n}
    return profile_columns(columns, exact_cap=exact_cap, numeric=["empty"],
                           source="train.parquet")


def _same_feature(a: FeatureProfile, b: FeatureProfile) -> None:
    assert (a.name, a.kind, a.dtype, a.count, a.missing, a.nan, a.inf) == \
        (b.name, b.kind, b.dtype, b.count, b.missing, b.nan, b.inf)
    for attr in ("minimum", "maximum", "mean", "std"):
        x, y = getattr(a, attr), getattr(b, attr)
        assert (math.isnan(x) and math.isnan(y)) or x == y, attr
    assert dict(a.categories) == dict(b.categories)
    if a.values is None:
        assert b.values is None
    else:
        assert b.values is not None
        np.testing.assert_array_equal(a.values, b.values)
    assert (a.sketch is None) == (b.sketch is None)


def test_round_trip_exact_profile_is_identical(tmp_path: Path) -> None:
    profile = _profile()
    profile = BaselineProfile(features=profile.features, rows=profile.rows,
                              source="train.parquet",
                              created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    write_statistics(profile, tmp_path / "statistics.json")
    back = read_statistics(tmp_path / "statistics.json")
    assert back.rows == profile.rows and back.source == "train.parquet"
    assert back.created_at == profile.created_at
    assert list(back.features) == list(profile.features)
    for name, feature in profile.features.items():
        _same_feature(feature, back.features[name])
    assert back == profile
    assert back.features["x"].invalid == 1 and back.features["x"].invalid_examples
    assert statistics_document(back) == statistics_document(profile)


def test_round_trip_of_a_sketched_feature_keeps_its_quantiles(tmp_path: Path) -> None:
    profile = profile_columns({"x": RNG.normal(size=50_000)}, exact_cap=1000)
    assert profile.features["x"].sketch is not None
    write_statistics(profile, tmp_path / "s.json")
    back = read_statistics(tmp_path / "s.json")
    _same_feature(profile.features["x"], back.features["x"])
    assert back.features["x"].sketch == profile.features["x"].sketch
    qs = np.linspace(0.01, 0.99, 25)
    np.testing.assert_allclose(back.features["x"].quantiles(qs),
                               profile.features["x"].quantiles(qs), atol=0.05)
    again = statistics_document(back)
    assert again == statistics_document(profile)


def test_large_exact_values_are_compacted_into_kll_levels() -> None:
    profile = profile_columns({"x": RNG.normal(size=20_000)})
    doc = statistics_document(profile, exact_limit=5000)
    kll = doc["features"][0]["numerical_statistics"]["distribution"]["kll"]
    data = kll["sketch"]["data"]
    assert len(data) > 1 and sum(len(level) for level in data) < 5000
    assert all(len(level) <= KLL_K for level in data)
    assert sum(len(level) * 2 ** h for h, level in enumerate(data)) == 20_000
    assert sum(b["count"] for b in kll["buckets"]) == 20_000
    back = profile_from_statistics(doc)
    x = back.features["x"]
    assert x.values is None and x.sketch is not None
    assert abs(float(x.quantiles(np.array([0.5]))[0])) < 0.05


def test_the_hand_written_aws_statistics_file_is_read() -> None:
    profile = read_statistics(DATA / "statistics.json")
    assert profile.rows == 14 and list(profile.features) == ["age", "monthly_charges",
                                                             "contract"]
    age = profile.features["age"]
    assert (age.kind, age.dtype, age.count, age.missing) == (FeatureKind.NUMERIC, "int64", 13, 1)
    assert age.values is not None and age.values.tolist()[:3] == [19.0, 23.0, 27.0]
    assert (age.minimum, age.maximum) == (19.0, 64.0)
    charges = profile.features["monthly_charges"]
    assert charges.dtype == "float64" and charges.values is None and charges.sketch is not None
    # level 1 items weigh 2: 6 + 2 * 4 = 14 values; the median lies between 55.2 and 70.35
    assert 55.2 <= float(charges.quantiles(np.array([0.5]))[0]) <= 70.35
    assert charges.mean == pytest.approx(61.17857142857143)
    contract = profile.features["contract"]
    assert contract.kind is FeatureKind.CATEGORICAL and contract.count == 14
    assert dict(contract.categories) == {"Month-to-month": 7, "One year": 4, "Two year": 3}


def test_the_hand_written_aws_constraints_file_is_read() -> None:
    c = read_constraints(DATA / "constraints.json")
    assert c.inferred_types == {"age": "Integral", "monthly_charges": "Fractional",
                                "contract": "String"}
    assert c.completeness == {"age": 0.9, "monthly_charges": 1.0, "contract": 1.0}
    assert c.non_negative == {"age": True, "monthly_charges": True}
    assert c.domains == {"contract": frozenset({"Month-to-month", "One year", "Two year"})}
    assert (c.evaluate_constraints, c.emit_metrics, c.perform_comparison) == (True, True, True)
    assert (c.datatype_check_threshold, c.domain_content_threshold) == (0.1, 0.1)
    assert (c.comparison_threshold, c.comparison_method) == (0.1, "Robust")
    limits = c.to_quality()
    assert limits.min_completeness["age"] == 0.9 and limits.unseen_share == pytest.approx(0.9)


def test_constraints_written_from_a_profile_read_back(tmp_path: Path) -> None:
    profile = _profile()
    doc = constraints_document(profile)
    by_name = {f["name"]: f for f in doc["features"]}
    assert by_name["plan"]["string_constraints"]["domains"] == ["basic", "max", "pro"]
    assert by_name["age"]["num_constraints"] == {"is_non_negative": True}
    assert by_name["x"]["inferred_type"] == "Fractional"
    assert by_name["x"]["completeness"] == round(299 / 300, 6)   # None is missing; "oops" is not
    write_constraints(profile, tmp_path / "constraints.json")
    back = read_constraints(tmp_path / "constraints.json")
    assert back == SageMakerConstraints(
        inferred_types={"x": "Fractional", "age": "Integral", "plan": "String",
                        "empty": "Fractional"},
        completeness={"x": round(299 / 300, 6), "age": 1.0, "plan": 1.0, "empty": 0.0},
        non_negative={"x": True, "age": True, "empty": False},
        domains={"plan": frozenset({"basic", "pro", "max"})})


def test_violations_file_from_quality_findings(tmp_path: Path) -> None:
    baseline = read_statistics(DATA / "statistics.json")
    current = profile_columns({"age": [-5, 30, 40], "contract": ["Two year", "Lifetime", None],
                               "tip": [1.0, 2.0, 3.0]})
    write_violations(tmp_path / "constraint_violations.json", quality(baseline, current))
    doc = json.loads((tmp_path / "constraint_violations.json").read_text())
    got = [(v["feature_name"], v["constraint_check_type"]) for v in doc["violations"]]
    assert got == [("age", "baseline_drift_check"), ("monthly_charges", "missing_column_check"),
                   ("contract", "completeness_check"), ("contract", "categorical_values_check"),
                   ("tip", "extra_column_check")]
    assert violations_document() == {"violations": []}


@dataclass(frozen=True)
class _Result:
    feature: str
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class _Report:
    features: tuple[_Result, ...]


def test_drifted_features_are_baseline_drift_violations() -> None:
    report = _Report(features=(_Result("x", "ks", 0.21, 1.2e-7, 0.05, True),
                               _Result("y", "psi", 0.3, None, 0.2, True),
                               _Result("z", "ks", 0.01, 0.9, 0.05, False)))
    assert violations_document(drift=report)["violations"] == [
        {"feature_name": "x", "constraint_check_type": "baseline_drift_check",
         "description": "x: drifted by the ks test (statistic 0.21, p-value 1.2e-07; "
                        "threshold 0.05)"},
        {"feature_name": "y", "constraint_check_type": "baseline_drift_check",
         "description": "y: drifted by the psi test (statistic 0.3; threshold 0.2)"}]


BAD = [
    ("[]", "expected a JSON object at the top"),
    ("{", "not a JSON file"),
    ('{"version": 0}', "no features list; is this a statistics.json file?"),
    ('{"features": [{"inferred_type": "String"}]}', "features[0] has no name"),
    ('{"features": [{"name": "a", "numerical_statistics": {"common": {"num_present": "x"}}}]}',
     "feature 'a': invalid literal"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m[:20] for _, m in BAD])
def test_bad_statistics_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "s.json").write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        read_statistics(tmp_path / "s.json")


def test_missing_and_bad_constraints_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.json does not exist"):
        read_constraints(tmp_path / "nope.json")
    (tmp_path / "c.json").write_text('{"features": [{"name": "a", "completeness": 7}]}')
    with pytest.raises(ValueError, match=r"a.completeness: expected a number between 0 and 1, "
                                         r"got 7"):
        read_constraints(tmp_path / "c.json")


def test_a_real_drift_report_gives_one_violation_per_drifted_feature() -> None:
    base = profile_columns({"a": RNG.normal(size=5000), "b": RNG.normal(size=5000)})
    now = profile_columns({"a": RNG.normal(size=2000) + 1.0, "b": RNG.normal(size=2000)})
    report = check(base, now)
    violations = violations_document(drift=report)["violations"]
    assert [v["feature_name"] for v in violations] == list(report.drifted) == ["a"]
    assert violations[0]["description"].startswith("a: drifted by the ")


def test_buckets_without_a_sketch_and_unknown_features() -> None:
    doc = {"dataset": {"item_count": 10.0}, "features": [
        {"name": "a", "inferred_type": "Fractional", "numerical_statistics": {
            "common": {"num_present": 10.0, "num_missing": 0.0}, "min": 0.0, "max": 2.0,
            "distribution": {"kll": {"buckets": [
                {"lower_bound": 0.0, "upper_bound": 1.0, "count": 8.0},
                {"lower_bound": 1.0, "upper_bound": 2.0, "count": 2.0}]}}}},
        {"name": "b", "inferred_type": "Unknown"}]}
    profile = profile_from_statistics(doc, source="s3://bucket/statistics.json")
    a = profile.features["a"]
    assert profile.rows == 10 and profile.source == "s3://bucket/statistics.json"
    assert a.sketch is not None and a.sketch.n == 10
    assert a.quantiles(np.array([0.5, 0.9])).tolist() == [0.5, 1.5]
    b = profile.features["b"]
    assert (b.kind, b.count, dict(b.categories)) == (FeatureKind.CATEGORICAL, 0, {})
