"""KS agrees with scipy.stats.ks_2samp (statistic and p-value, method="auto") to 1e-9."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureProfile, ProfileBuilder, profile_columns
from monitor.drift.stattests import ks as ks_module
from monitor.drift.stattests.ks import EXACT_MAX_N, KSTest, ks_pvalue, kstwo_sf

RTOL = 1e-9


def _feature(values: np.ndarray) -> FeatureProfile:
    return profile_columns({"x": values}).features["x"]


def _agree(x: np.ndarray, y: np.ndarray) -> None:
    mine = KSTest().compare(_feature(x), _feature(y))
    ref = stats.ks_2samp(x, y, method="auto")
    assert mine.statistic == pytest.approx(float(ref.statistic), rel=RTOL, abs=1e-15)
    assert mine.p_value is not None
    assert mine.p_value == pytest.approx(float(ref.pvalue), rel=RTOL, abs=1e-300)


@pytest.mark.parametrize("n1", range(1, 11))
@pytest.mark.parametrize("n2", [1, 2, 3, 5, 7, 10])
def test_tiny_samples(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 * 100 + n2)
    _agree(rng.normal(size=n1), rng.normal(0.5, size=n2))


@pytest.mark.parametrize(("n1", "n2"), [(30, 30), (7, 300), (200, 150), (1000, 999),
                                        (2500, 4000), (EXACT_MAX_N, 2000)])
@pytest.mark.parametrize("shift", [0.0, 0.15, 0.6])
def test_exact_regime_with_and_without_shift(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    _agree(rng.normal(size=n1), rng.normal(shift, size=n2))


@pytest.mark.parametrize(("n1", "n2"), [(20, 25), (400, 350), (3000, 5000), (20_000, 3_000)])
def test_ties(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1)
    _agree(rng.integers(0, 6, n1).astype(float), rng.integers(0, 7, n2).astype(float))
    _agree(rng.integers(0, 3, n1).astype(float), rng.integers(0, 3, n2).astype(float))


@pytest.mark.parametrize(("n1", "n2", "shift"), [
    (10_001, 10_001, 0.0), (100_000, 10_000, 0.0), (100_000, 10_000, 0.05),
    (100_000, 10_000, 0.1), (1_000_000, 100_000, 0.01), (1_000_000, 100_000, 0.1),
    (1_000_000, 1_000_000, 0.003), (1_000_000, 1_000_000, 0.0)])
def test_asymptotic_regime_including_huge_samples(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n2)
    _agree(rng.normal(size=n1), rng.normal(shift, size=n2))


def test_identical_samples_and_disjoint_samples() -> None:
    x = np.arange(50.0)
    _agree(x, x.copy())
    _agree(x, x + 100.0)


@pytest.mark.parametrize("n", [141, 1_000, 9_091, 90_909, 500_000])
@pytest.mark.parametrize("nd2", [0.3, 1.0, 2.19, 2.2, 3.0, 10.0, 80.0, 250.0, 369.0, 371.0])
def test_kstwo_tail_matches_scipy(n: int, nd2: float) -> None:
    d = float(np.sqrt(nd2 / n))
    ref = float(stats.kstwo.sf(d, n))
    assert kstwo_sf(d, n) == pytest.approx(ref, rel=RTOL, abs=1e-300)


def test_exact_p_value_snaps_the_statistic_to_the_lattice() -> None:
    d, p = ks_pvalue(0.3000000001, 10, 20)
    assert d == pytest.approx(0.3, abs=1e-15) and 0 < p < 1
    assert ks_pvalue(0.0, 5, 5) == (0.0, 1.0)


def test_effect_is_normalised_wasserstein() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=5_000), rng.normal(0.3, size=3_000)
    result = KSTest().compare(_feature(x), _feature(y))
    assert result.effect == pytest.approx(stats.wasserstein_distance(x, y) / np.std(x),
                                          rel=RTOL)


def test_sketch_baseline_is_within_the_rank_error() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=200_000), rng.normal(0.05, size=20_000)
    builder = ProfileBuilder(exact_cap=10_000, sketch_k=1024)
    builder.add({"x": x})
    sketched = builder.finish().features["x"]
    assert sketched.sketch is not None
    approx = KSTest().compare(sketched, _feature(y))
    exact = stats.ks_2samp(x, y)
    assert abs(approx.statistic - exact.statistic) <= sketched.rank_error
    assert approx.p_value is not None and approx.p_value < 1e-6


def test_non_numeric_profiles_are_refused() -> None:
    cat = profile_columns({"x": ["a", "b"]}).features["x"]
    with pytest.raises(ValueError, match="ks: baseline of feature 'x' is categorical"):
        KSTest().compare(cat, cat)
    empty = profile_columns({"x": [np.nan, np.nan]}).features["x"]
    with pytest.raises(ValueError, match="window of feature 'x' has no finite values"):
        KSTest().compare(_feature(np.arange(3.0)), empty)


def test_doctests_pass() -> None:
    result = doctest.testmod(ks_module)
    assert result.attempted > 0 and result.failed == 0
