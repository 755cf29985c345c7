"""Wasserstein-1 agrees with scipy.stats.wasserstein_distance; normalised by baseline std."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureProfile, ProfileBuilder, profile_columns
from monitor.drift.stattests import wasserstein as wasserstein_module
from monitor.drift.stattests.wasserstein import WassersteinTest, wasserstein_distance

RTOL = 1e-9


def _feature(values: np.ndarray) -> FeatureProfile:
    return profile_columns({"x": values}).features["x"]


@pytest.mark.parametrize(("n1", "n2", "kind"), [
    (1, 1, "normal"), (1, 7, "normal"), (5, 3, "ties"), (10, 10, "shift"),
    (300, 1000, "normal"), (2000, 50, "ties"), (100_000, 10_000, "shift"),
    (1_000_000, 100_000, "normal"), (1_000_000, 100_000, "ties"), (50_000, 50_000, "far")])
def test_agrees_with_scipy(n1: int, n2: int, kind: str) -> None:
    rng = np.random.default_rng(n1 * 3 + n2)
    if kind == "ties":
        x, y = rng.integers(0, 5, n1).astype(float), rng.integers(0, 6, n2).astype(float)
    elif kind == "far":
        x, y = rng.normal(1e4, 2.0, n1), rng.normal(1e4 + 1.0, 3.0, n2)
    else:
        x, y = rng.normal(size=n1), rng.normal(0.3 if kind == "shift" else 0.0, size=n2)
    expected = stats.wasserstein_distance(x, y)
    assert wasserstein_distance(_feature(x), _feature(y)) == pytest.approx(
        expected, rel=RTOL, abs=1e-15)
    if np.std(x) > 0:
        result = WassersteinTest().compare(_feature(x), _feature(y))
        assert result.statistic == pytest.approx(expected / np.std(x), rel=RTOL, abs=1e-15)
        assert result.p_value is None and result.effect == result.statistic


def test_constant_baseline_gives_zero_or_infinity() -> None:
    const = _feature(np.full(10, 3.0))
    assert WassersteinTest().compare(const, _feature(np.full(4, 3.0))).statistic == 0.0
    assert math.isinf(WassersteinTest().compare(const, _feature(np.array([3.0, 4.0]))).statistic)


def test_sketch_baseline_is_within_the_documented_bound() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=300_000), rng.normal(0.2, 1.1, size=10_000)
    builder = ProfileBuilder(exact_cap=1_000)
    builder.add({"x": x})
    sketched = builder.finish().features["x"]
    approx = wasserstein_distance(sketched, _feature(y))
    bound = sketched.rank_error * (x.max() - x.min())      # ∫|F_sketch - F| <= eps * range
    assert abs(approx - stats.wasserstein_distance(x, y)) <= bound
    assert approx == pytest.approx(stats.wasserstein_distance(x, y), rel=0.01)


def test_doctests_pass() -> None:
    result = doctest.testmod(wasserstein_module)
    assert result.attempted > 0 and result.failed == 0
