"""Data-quality findings per feature, natively and in SageMaker's violations shape."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from monitor.drift.capture import read_capture
from monitor.drift.profile import BaselineProfile, ProfileBuilder, profile_columns
from monitor.drift.quality import (
    CHECK_TYPES,
    Finding,
    FindingKind,
    QualityConstraints,
    QualityReport,
    quality,
)

RNG = np.random.default_rng(7)
BASE_X = np.linspace(0.0, 10.0, 1001)


def _profile(columns: Mapping[str, Sequence[object] | np.ndarray], *,
             categorical: Collection[str] = (), numeric: Collection[str] = ()
             ) -> BaselineProfile:
    return profile_columns(columns, categorical=categorical, numeric=numeric)


def _baseline() -> BaselineProfile:
    return _profile({"x": BASE_X, "n": list(range(1001)),
                     "c": ["a", "b", "c"] * 333 + ["a", "b"]})


def _kinds(report: QualityReport, feature: str) -> list[FindingKind]:
    return [f.kind for f in report.for_feature(feature)]


def test_a_clean_window_has_no_findings() -> None:
    current = _profile({"x": RNG.uniform(0, 10, 200), "n": list(range(0, 1000, 5)),
                        "c": ["a", "b"] * 100})
    report = quality(_baseline(), current)
    assert report.ok and report.findings == ()
    assert report.rows_current == 200 and report.features_checked == 3
    assert report.to_sagemaker_violations() == {"violations": []}


def test_missing_column_absent_or_without_a_value() -> None:
    absent = quality(_baseline(), _profile({"x": [1.0], "c": ["a"]}))
    assert _kinds(absent, "n") == [FindingKind.MISSING_COLUMN]
    assert absent.for_feature("n")[0].description == "n: column is missing from the current data"
    empty = quality(_baseline(), _profile({"x": [1.0, 2.0], "n": [None, None], "c": ["a", "b"]},
                                          numeric=["n"]))
    finding = empty.for_feature("n")[0]
    assert finding.kind is FindingKind.MISSING_COLUMN and finding.check_type == \
        "missing_column_check"
    assert finding.description == "n: no value in the 2 current rows"


def test_extra_column_and_switching_it_off() -> None:
    current = _profile({"x": [1.0], "n": [1], "c": ["a"], "new": ["z"]})
    report = quality(_baseline(), current)
    assert [(f.feature, f.kind) for f in report.findings] == [("new", FindingKind.EXTRA_COLUMN)]
    assert report.findings[0].description.startswith("new: column is not in the baseline")
    assert quality(_baseline(), current,
                   constraints=QualityConstraints(check_extra_columns=False)).ok


def test_dtype_change_kind_and_int_to_float() -> None:
    strings = _profile({"x": ["high", "low", "high"], "n": [1, 2, 3], "c": ["a"] * 3})
    finding = quality(_baseline(), strings).for_feature("x")[0]
    assert finding.kind is FindingKind.DTYPE_CHANGE and finding.check_type == "data_type_check"
    assert finding.description == ("x: baseline is numeric (float64) but current values are "
                                   "categorical (string) (e.g. 'high')")
    fractional = quality(_baseline(), _profile({"x": [1.0, 2.0], "n": [1.5, 2.0],
                                                "c": ["a", "b"]}))
    assert _kinds(fractional, "n") == [FindingKind.DTYPE_CHANGE]
    assert fractional.for_feature("n")[0].description == "n: type changed from int64 to float64"
    whole = quality(_baseline(), _profile({"x": [1.0, 2.0], "n": [1.0, 2.0], "c": ["a", "b"]}))
    assert whole.ok


def test_values_that_are_not_numbers_in_a_numeric_feature() -> None:
    current = _profile({"x": [1.0, "n/a", 2.0, "n/a"], "n": [1] * 4, "c": ["a"] * 4},
                       numeric=["x"])
    (finding,) = quality(_baseline(), current).for_feature("x")
    assert finding.kind is FindingKind.DTYPE_CHANGE and finding.count == 2
    assert finding.share == 0.5 and finding.examples
    assert finding.description.startswith("x: 2 values (50.00%) are not numbers, e.g. ")
    assert quality(_baseline(), current,
                   constraints=QualityConstraints(invalid_share=0.6)).ok


def test_an_all_missing_baseline_feature_is_not_judged() -> None:
    base = _profile({"x": [None, None], "c": ["a", "b"]}, numeric=["x"])
    assert quality(base, _profile({"x": [1.0, 2.0], "c": ["a", "b"]})).ok


def test_completeness_drop_against_baseline_and_minimum() -> None:
    xs: list[object] = [float(v) for v in RNG.uniform(0, 10, 90)] + [None] * 10
    current = _profile({"x": xs, "n": list(range(100)), "c": ["a"] * 100})
    finding = quality(_baseline(), current).for_feature("x")[0]
    assert finding.kind is FindingKind.COMPLETENESS_DROP
    assert finding.check_type == "completeness_check"
    assert finding.count == 10 and finding.current == pytest.approx(0.9)
    assert finding.baseline == 1.0
    assert "90.00% of rows have a value (10 missing), below the baseline's 100.00%" in \
        finding.description
    tolerant = QualityConstraints(completeness_tolerance=0.2)
    assert quality(_baseline(), current, constraints=tolerant).ok
    strict = QualityConstraints(completeness_tolerance=0.2, min_completeness={"x": 0.95})
    only = quality(_baseline(), current, constraints=strict).for_feature("x")
    assert only[0].description.endswith("below the minimum 95.00%")


def test_unseen_categories_share_and_examples() -> None:
    values = ["a", "b"] * 490 + ["z"] * 12 + ["y"] * 6 + ["q"] * 2
    report = quality(_baseline(), _profile({"x": [1.0] * 1000, "n": [1] * 1000, "c": values}))
    (finding,) = report.for_feature("c")
    assert finding.kind is FindingKind.UNSEEN_CATEGORIES
    assert finding.check_type == "categorical_values_check"
    assert finding.count == 20 and finding.share == pytest.approx(0.02)
    assert finding.examples == ("z", "y", "q")
    assert finding.description == ("c: 20 values (2.00%) in 3 categories not in the baseline, "
                                   "e.g. 'z', 'y', 'q'")
    assert quality(_baseline(), _profile({"x": [1.0] * 1000, "n": [1] * 1000, "c": values}),
                   constraints=QualityConstraints(unseen_share=0.05)).ok


def test_domains_replace_the_baseline_categories() -> None:
    current = _profile({"x": [1.0, 2.0], "n": [1, 2], "c": ["a", "c"]})
    limits = QualityConstraints(domains={"c": frozenset({"a", "b"})})
    (finding,) = quality(_baseline(), current, constraints=limits).findings
    assert finding.examples == ("c",) and "not in the domain" in finding.description


def test_out_of_range_counts_from_sorted_values() -> None:
    xs = np.concatenate([RNG.uniform(0, 10, 97), [-1.0, 10.5, 12.0]])
    report = quality(_baseline(), _profile({"x": xs, "n": list(range(100)), "c": ["a"] * 100}))
    (finding,) = report.for_feature("x")
    assert finding.kind is FindingKind.OUT_OF_RANGE
    assert finding.check_type == "baseline_drift_check"
    assert finding.count == 3 and finding.share == pytest.approx(0.03)
    assert finding.description == ("x: 3 values (3.00%) outside the baseline range: 1 below the "
                                   "baseline minimum 0 (lowest -1); 2 above the baseline "
                                   "maximum 10 (highest 12)")
    edges = _profile({"x": [0.0, 10.0], "n": [0, 1000], "c": ["a", "b"]})
    assert quality(_baseline(), edges).ok   # the baseline's own min and max are in range


def test_out_of_range_from_a_sketched_window() -> None:
    xs = np.concatenate([RNG.uniform(0, 10, 9_000), np.full(1_000, 20.0)])
    current = profile_columns({"x": xs, "n": np.arange(10_000), "c": ["a"] * 10_000},
                              exact_cap=100)
    assert current.features["x"].sketch is not None
    (finding,) = quality(_baseline(), current).for_feature("x")
    assert finding.kind is FindingKind.OUT_OF_RANGE
    assert abs(finding.count - 1000) <= 50 and "above the baseline maximum 10" in \
        finding.description
    inside = profile_columns({"x": RNG.uniform(0, 10, 5_000)}, exact_cap=100)
    assert not quality(_baseline(), inside).for_feature("x")


def test_a_capture_window_profiled_as_the_runner_does(tmp_path: Path) -> None:
    lines = [{"time": "2026-01-05T10:00:00Z", "inputs": {"x": 5.0, "n": 3, "c": "a"}},
             {"time": "2026-01-05T10:00:01Z", "inputs": {"x": "broken", "n": 4, "c": "new"}},
             {"time": "2026-01-05T10:00:02Z", "inputs": {"n": 5, "c": "b", "note": "hi"}}]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    window = read_capture([tmp_path / "c.jsonl"])
    base = _baseline()
    builder = ProfileBuilder(exact_cap=window.rows, categorical=["c"], numeric=["x", "n"])
    builder.add(dict(window.inputs))
    report = quality(base, builder.finish())
    assert [(f.feature, f.kind.value) for f in report.findings] == [
        ("x", "dtype_change"), ("x", "completeness_drop"), ("c", "unseen_categories"),
        ("note", "extra_column")]


def test_nan_and_inf_counts() -> None:
    xs = [1.0, float("nan"), float("inf"), float("-inf"), 2.0]
    report = quality(_baseline(), _profile({"x": xs, "n": [1] * 5, "c": ["a"] * 5}))
    (finding,) = report.for_feature("x")
    assert finding.kind is FindingKind.NON_FINITE
    assert finding.count == 3 and finding.share == pytest.approx(0.6)
    assert finding.description == ("x: 1 NaN and 2 infinite values (60.00% of present values; "
                                   "baseline 0.00%)")
    noisy_base = _profile({"x": [1.0] * 90 + [math.nan] * 10, "n": [1] * 100, "c": ["a"] * 100})
    similar = _profile({"x": [1.0] * 89 + [math.nan] * 11, "n": [1] * 100, "c": ["a"] * 100})
    assert quality(noisy_base, similar).ok   # 11% against a baseline of 10%: within tolerance


def test_an_empty_window_is_said_to_be_unchecked() -> None:
    report = quality(_baseline(), _profile({}))
    assert report.findings == () and report.rows_current == 0
    assert report.message == "the current window has no rows; nothing was checked"


def test_native_and_sagemaker_shapes_are_json() -> None:
    current = _profile({"x": [11.0], "c": ["zz"], "extra": [1]})
    report = quality(_baseline(), current)
    native = json.loads(json.dumps(report.to_dict()))
    assert [f["kind"] for f in native["findings"]] == [
        "out_of_range", "missing_column", "unseen_categories", "extra_column"]
    violations = json.loads(json.dumps(report.to_sagemaker_violations()))["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("x", "baseline_drift_check"), ("n", "missing_column_check"),
        ("c", "categorical_values_check"), ("extra", "extra_column_check")]
    assert all(set(v) == {"feature_name", "constraint_check_type", "description"}
               for v in violations)
    assert set(CHECK_TYPES.values()) <= {"data_type_check", "completeness_check",
                                         "baseline_drift_check", "missing_column_check",
                                         "extra_column_check", "categorical_values_check"}
    assert isinstance(report.findings[0], Finding)


def test_constraints_reject_shares_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="unseen_share must be a share between 0 and 1, got 2"):
        QualityConstraints(unseen_share=2)
    with pytest.raises(ValueError, match=r"min_completeness\['x'\] must be between 0 and 1"):
        QualityConstraints(min_completeness={"x": -0.1})
