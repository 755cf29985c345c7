"""The mergeable quantile sketch: its tracked rank-error bound holds, merging keeps it."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from monitor.drift import sketch as sketch_module
from monitor.drift.sketch import QuantileSketch


def _max_rank_error(sk: QuantileSketch, data: np.ndarray) -> int:
    """Largest |estimated - true| count of values <= x over every data point and between."""
    exact = np.sort(data)
    probes = np.concatenate([exact, (exact[1:] + exact[:-1]) / 2, [exact[0] - 1]])
    true = np.searchsorted(exact, probes, side="right")
    return int(np.abs(sk.rank(probes) - true).max())


@pytest.mark.parametrize("batch", [1_000, 65_536, 300_000])
def test_rank_error_stays_within_the_tracked_bound(batch: int) -> None:
    rng = np.random.default_rng(batch)
    data = rng.standard_t(3, size=300_000)
    sk = QuantileSketch(k=256)
    for start in range(0, data.size, batch):
        sk.update(data[start:start + batch])
    assert sk.n == data.size
    error = _max_rank_error(sk, data)
    assert 0 < sk.error_bound < data.size * 12 / 256   # n * levels / k, documented
    assert error <= sk.error_bound
    assert sum(level.size for level in sk.levels) < 256 * 12


def test_bound_is_small_at_the_default_resolution() -> None:
    data = np.random.default_rng(1).normal(size=2_000_000)
    sk = QuantileSketch()
    for part in np.array_split(data, 31):
        sk.update(part)
    assert _max_rank_error(sk, data) <= sk.error_bound
    assert sk.error_bound / sk.n < 1e-3
    q = sk.quantiles(np.array([0.01, 0.5, 0.99]))
    exact = np.quantile(data, [0.01, 0.5, 0.99], method="inverted_cdf")
    assert np.abs(np.searchsorted(np.sort(data), q) - np.searchsorted(np.sort(data), exact)).max(
    ) <= sk.error_bound + 1


def test_merged_sketches_keep_the_bound_and_the_count() -> None:
    rng = np.random.default_rng(2)
    parts = [rng.normal(i, 1 + i, size=50_000) for i in range(4)]
    merged = QuantileSketch(k=128)
    for part in parts:
        piece = QuantileSketch(k=128)
        piece.update(part)
        merged.merge(piece)
    data = np.concatenate(parts)
    assert merged.n == data.size
    assert _max_rank_error(merged, data) <= merged.error_bound


def test_small_input_is_exact() -> None:
    sk = QuantileSketch(k=64)
    sk.update(np.array([3.0, 1.0, 2.0, 2.0]))
    assert sk.error_bound == 0
    np.testing.assert_array_equal(sk.rank(np.array([0.0, 1.0, 2.0, 3.0])), [0, 1, 3, 4])
    np.testing.assert_array_equal(sk.cdf(np.array([2.0])), [0.75])
    np.testing.assert_array_equal(sk.quantiles(np.array([0.0, 0.5, 1.0])), [1.0, 2.0, 3.0])


def test_weighted_items_carry_their_weights_exactly() -> None:
    sk = QuantileSketch.from_weighted(np.array([1.0, 2.0, 3.0]), np.array([5, 0, 12]), k=64)
    assert sk.n == 17 and sk.error_bound == 0
    np.testing.assert_array_equal(sk.rank(np.array([1.0, 2.5, 3.0])), [5, 5, 17])


def test_levels_round_trip_and_equality() -> None:
    sk = QuantileSketch(k=32)
    sk.update(np.random.default_rng(3).normal(size=5_000))
    again = QuantileSketch.from_levels(sk.levels, k=32, error_bound=sk.error_bound)
    assert again == sk and again.n == sk.n
    twin = sk.copy()
    twin.update(np.array([1.0]))
    assert twin != sk


def test_empty_sketch_answers_nan() -> None:
    sk = QuantileSketch()
    assert np.isnan(sk.cdf(np.array([0.0]))).all()
    assert np.isnan(sk.quantiles(np.array([0.5]))).all()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: QuantileSketch(k=1), "k must be >= 2, got 1"),
    (lambda: QuantileSketch().update(np.array([1.0, np.nan])), "NaN or infinity"),
    (lambda: QuantileSketch.from_weighted(np.array([1.0]), np.array([1, 2])),
     "1 values but 2 weights"),
    (lambda: QuantileSketch.from_weighted(np.array([1.0]), np.array([0.5])), "whole numbers"),
    (lambda: QuantileSketch.from_levels([np.array([np.inf])]), "level 0 holds a non-finite"),
])
def test_bad_input_is_refused_with_the_reason(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_doctests_pass() -> None:
    result = doctest.testmod(sketch_module)
    assert result.attempted > 0 and result.failed == 0
