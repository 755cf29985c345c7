"""Profiles: exact sorted values or a sketch, counts, kinds, merging and the binary form."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from monitor.drift.profile import (
    BaselineProfile,
    FeatureKind,
    FeatureProfile,
    ProfileBuilder,
    profile_columns,
)


def test_numeric_column_keeps_sorted_finite_values_and_counts() -> None:
    x = np.array([3.0, np.nan, 1.0, np.inf, -np.inf, 2.0, 1.0])
    f = profile_columns({"x": x}).features["x"]
    assert f.kind is FeatureKind.NUMERIC and f.dtype == "float64"
    assert (f.count, f.missing, f.nan, f.inf, f.finite_count) == (7, 0, 1, 2, 4)
    assert f.values is not None and f.values.dtype == np.float64
    np.testing.assert_array_equal(f.values, [1.0, 1.0, 2.0, 3.0])
    assert (f.minimum, f.maximum, f.mean) == (1.0, 3.0, 1.75)
    assert f.std == pytest.approx(np.std([1.0, 1.0, 2.0, 3.0]), rel=1e-15)


def test_lists_with_none_count_missing_and_strings_infer_categorical() -> None:
    p = profile_columns({"n": [1, None, 3, 4], "c": ["a", None, "b", "a"],
                         "b": [True, False, None, True]})
    n, c, b = p.features["n"], p.features["c"], p.features["b"]
    assert (n.kind, n.dtype, n.count, n.missing) == (FeatureKind.NUMERIC, "int64", 3, 1)
    assert (c.kind, c.count, c.missing) == (FeatureKind.CATEGORICAL, 3, 1)
    assert dict(c.categories) == {"a": 2, "b": 1}
    assert (b.kind, b.dtype, dict(b.categories)) == (FeatureKind.CATEGORICAL, "bool",
                                                     {"true": 2, "false": 1})
    assert p.rows == 4 and list(p.features) == ["n", "c", "b"]


def test_forced_kinds_turn_numbers_into_levels_and_numeric_strings_into_numbers() -> None:
    p = profile_columns({"code": np.array([1, 2, 2]), "csv": ["1.5", " 2", "nan"]},
                        categorical=["code"], numeric=["csv"])
    assert dict(p.features["code"].categories) == {"2": 2, "1": 1}
    csv = p.features["csv"]
    assert csv.values is not None and list(csv.values) == [1.5, 2.0] and csv.nan == 1


def test_non_numbers_in_a_numeric_column_are_counted_or_raise() -> None:
    values = [1.0, "abc", None, 2.0, {"x": 1}]
    f = profile_columns({"x": values}, numeric=["x"]).features["x"]
    assert (f.invalid, f.count, f.missing, f.finite_count) == (2, 4, 1, 2)
    assert f.invalid_examples == ("'abc'", "{'x': 1}")
    with pytest.raises(ValueError, match=r"column 'x': 'abc' is not a number"):
        profile_columns({"x": values}, numeric=["x"], on_invalid="raise")


def test_categorical_nan_counts_as_missing() -> None:
    f = profile_columns({"c": pa.array([1.0, float("nan"), 2.5, None])},
                        categorical=["c"]).features["c"]
    assert (f.missing, f.count, dict(f.categories)) == (2, 2, {"1": 1, "2.5": 1})


def test_columns_absent_from_a_batch_count_as_missing() -> None:
    builder = ProfileBuilder()
    builder.add({"a": np.array([1.0, 2.0])})
    builder.add({"a": np.array([3.0]), "b": ["x"]})
    builder.add({"b": ["y", "y"]})
    p = builder.finish()
    assert p.rows == 5
    assert (p.features["a"].count, p.features["a"].missing) == (3, 2)
    assert (p.features["b"].count, p.features["b"].missing) == (3, 2)


def test_all_null_column_stays_undecided_then_numeric() -> None:
    p = profile_columns({"x": [None, None]})
    f = p.features["x"]
    assert (f.kind, f.dtype, f.count, f.missing, f.finite_count) == (
        FeatureKind.NUMERIC, "null", 0, 2, 0)
    assert math.isnan(f.mean) and f.values is not None and f.values.size == 0


def test_only_the_listed_columns_are_profiled() -> None:
    builder = ProfileBuilder(columns=["b", "a"])
    builder.add({"a": np.array([1.0]), "c": np.array([2.0])})
    p = builder.finish()
    assert list(p.features) == ["b", "a"] and p.features["b"].missing == 1


def test_batches_of_unequal_length_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        ProfileBuilder().add({"a": [1, 2], "b": [1]})


def test_past_the_exact_cap_a_sketch_is_kept() -> None:
    data = np.random.default_rng(0).normal(size=50_000)
    builder = ProfileBuilder(exact_cap=10_000, sketch_k=512)
    for part in np.array_split(data, 7):
        builder.add({"x": part})
    f = builder.finish().features["x"]
    assert f.values is None and f.sketch is not None and f.sketch.n == 50_000
    assert f.mean == pytest.approx(data.mean(), abs=1e-12)
    assert f.std == pytest.approx(data.std(), rel=1e-12)
    probes = np.linspace(-3, 3, 61)
    exact = np.searchsorted(np.sort(data), probes, side="right") / data.size
    assert np.abs(f.cdf(probes) - exact).max() <= f.rank_error
    assert 0 < f.rank_error < 0.01


def test_merged_builders_equal_one_pass() -> None:
    rng = np.random.default_rng(1)
    x, c = rng.normal(size=3_000), rng.choice(["a", "b", "c"], size=3_000)
    whole = ProfileBuilder()
    whole.add({"x": x, "c": c})
    left, right = ProfileBuilder(), ProfileBuilder()
    left.add({"x": x[:1_000], "c": c[:1_000]})
    right.add({"x": x[1_000:], "c": c[1_000:]})
    left.merge(right)
    a, b = whole.finish(), left.finish()
    assert a.rows == b.rows and list(a.features) == list(b.features)
    np.testing.assert_array_equal(a.features["x"].values, b.features["x"].values)
    assert a.features["x"].std == pytest.approx(b.features["x"].std, rel=1e-12)
    assert dict(a.features["c"].categories) == dict(b.features["c"].categories)


def test_merge_refuses_conflicting_kinds() -> None:
    a, b = ProfileBuilder(), ProfileBuilder()
    a.add({"x": [1.0]})
    b.add({"x": ["s"]})
    with pytest.raises(ValueError, match="column 'x' is numeric here but categorical"):
        a.merge(b)


def _sample_profile() -> BaselineProfile:
    rng = np.random.default_rng(2)
    builder = ProfileBuilder(exact_cap=1_000, sketch_k=64, source="s3://bucket/base/",
                             created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    builder.add({"x": rng.normal(size=5_000), "y": np.r_[rng.normal(size=4_999), np.nan],
                 "c": rng.choice(["é", "b", "c d"], size=5_000)})
    builder.add({"z": [None] * 3, "w": ["1", "oops", None]}, )
    return builder.finish()


def test_binary_form_round_trips_exactly() -> None:
    profile = _sample_profile()
    data = profile.to_bytes()
    again = BaselineProfile.from_bytes(data)
    assert again == profile
    assert again.to_bytes() == data                        # deterministic
    assert again.features["x"].sketch == profile.features["x"].sketch
    assert list(again.features["c"].categories) == list(profile.features["c"].categories)


def test_binary_form_round_trips_exact_values() -> None:
    values = np.random.default_rng(3).normal(size=1_000) * 1e300
    profile = profile_columns({"x": values})
    again = BaselineProfile.from_bytes(profile.to_bytes())
    assert again.features["x"].values is not None
    assert again.features["x"].values.tobytes() == np.sort(values).tobytes()


@pytest.mark.parametrize(("data", "message"), [
    (b"nope", "bad magic bytes"),
    (b"WKPROF\r\n" + (2).to_bytes(4, "little") + (0).to_bytes(8, "little"),
     "format version 2 is not supported"),
    (b"WKPROF\r\n" + (1).to_bytes(4, "little") + (3).to_bytes(8, "little") + b"{x]",
     "corrupt header"),
])
def test_bad_bytes_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BaselineProfile.from_bytes(data)


def test_truncated_profile_is_refused() -> None:
    data = profile_columns({"x": np.arange(100.0)}).to_bytes()
    with pytest.raises(ValueError, match="truncated"):
        BaselineProfile.from_bytes(data[:-8])


def test_helpers_answer_from_exact_values() -> None:
    f = profile_columns({"x": np.array([1.0, 2.0, 2.0, 3.0, 10.0])}).features["x"]
    np.testing.assert_array_equal(f.cdf(np.array([0.0, 2.0, 10.0])), [0.0, 0.6, 1.0])
    np.testing.assert_array_equal(f.quantiles(np.array([0.2, 0.5, 1.0])), [1.0, 2.0, 10.0])
    np.testing.assert_array_equal(f.histogram(np.array([1.0, 2.0, 3.0, 10.0])), [1, 2, 2])
    c = profile_columns({"c": ["a", "a", "b", "c"]}).features["c"]
    np.testing.assert_array_equal(c.category_frequencies(["a", "z"]), [0.5, 0.0])


def test_feature_profile_checks_its_invariants() -> None:
    with pytest.raises(ValueError, match="missing must be >= 0, got -1"):
        FeatureProfile(name="x", kind=FeatureKind.NUMERIC, dtype="float64", count=0,
                       missing=-1)


def test_profiling_a_million_rows_is_vectorised() -> None:
    rng = np.random.default_rng(4)
    columns = {f"n{i}": rng.normal(size=1_000_000) for i in range(3)}
    columns["c"] = pa.array(rng.choice(["a", "b", "c"], size=1_000_000))
    p = profile_columns(columns)
    assert p.rows == 1_000_000 and sum(p.features["c"].categories.values()) == 1_000_000
