"""Chi-square homogeneity test agrees with scipy.stats.chi2_contingency(correction=False)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]
from scipy.spatial import distance  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureProfile, profile_columns
from monitor.drift.stattests.chisquare import ChiSquareTest, chi_square

RTOL = 1e-9


def _cat(values: list[str] | np.ndarray) -> FeatureProfile:
    return profile_columns({"c": values}, categorical=["c"]).features["c"]


def _reference(b: FeatureProfile, c: FeatureProfile) -> tuple[float, float, np.ndarray]:
    keys = list(b.categories) + [k for k in c.categories if k not in b.categories]
    table = np.array([[b.categories.get(k, 0) for k in keys],
                      [c.categories.get(k, 0) for k in keys]])
    res = stats.chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue), table


@pytest.mark.parametrize(("n1", "n2", "levels", "shift"), [
    (10, 8, 3, 0.0), (100, 50, 2, 0.0), (100, 50, 2, 0.2), (1_000, 400, 10, 0.0),
    (100_000, 10_000, 10, 0.02), (1_000_000, 100_000, 10, 0.005), (30, 30, 5, 0.15)])
def test_agrees_with_scipy(n1: int, n2: int, levels: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + levels)
    p = np.full(levels, 1.0 / levels)
    q = p.copy()
    q[0] += shift
    q[1] -= shift
    names = np.array([f"L{i}" for i in range(levels)])
    b, c = _cat(names[rng.choice(levels, n1, p=p)]), _cat(names[rng.choice(levels, n2, p=q)])
    result = ChiSquareTest().compare(b, c)
    statistic, p_value, table = _reference(b, c)
    assert result.statistic == pytest.approx(statistic, rel=RTOL)
    assert result.p_value == pytest.approx(p_value, rel=RTOL, abs=1e-300)
    shares = table / table.sum(axis=1, keepdims=True)
    assert result.effect == pytest.approx(distance.jensenshannon(shares[0], shares[1], base=2),
                                          rel=RTOL, abs=1e-12)


def test_unseen_levels_need_no_epsilon() -> None:
    b = _cat(["a"] * 60 + ["b"] * 40)
    c = _cat(["a"] * 50 + ["b"] * 30 + ["new"] * 20)
    result = ChiSquareTest().compare(b, c)
    statistic, p_value, _ = _reference(b, c)
    assert result.statistic == pytest.approx(statistic, rel=RTOL)
    assert result.p_value == pytest.approx(p_value, rel=RTOL)
    assert result.p_value is not None and result.p_value < 1e-4


def test_binary_equals_the_two_proportion_z_test() -> None:
    b, c = _cat(["y"] * 30 + ["n"] * 70), _cat(["y"] * 45 + ["n"] * 55)
    result = ChiSquareTest().compare(b, c)
    p1, p2, pooled = 0.3, 0.45, 75 / 200
    z = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert result.statistic == pytest.approx(z**2, rel=RTOL)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=RTOL)


def test_a_single_level_everywhere_is_no_evidence() -> None:
    assert chi_square(np.array([5.0]), np.array([7.0])) == (0.0, 1.0)
    assert chi_square(np.array([5.0, 0.0]), np.array([7.0, 0.0])) == (0.0, 1.0)


def test_numeric_features_are_compared_over_decile_bins() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=10_000), rng.normal(0.2, size=2_000)
    num = profile_columns({"x": x}).features["x"]
    result = ChiSquareTest().compare(num, profile_columns({"x": y}).features["x"])
    edges = np.quantile(x, np.arange(1, 10) / 10, method="inverted_cdf")
    b = np.bincount(np.searchsorted(edges, x, side="left"), minlength=10)
    c = np.bincount(np.searchsorted(edges, y, side="left"), minlength=10)
    res = stats.chi2_contingency(np.array([b, c]), correction=False)
    assert result.statistic == pytest.approx(res.statistic, rel=RTOL)
    assert result.p_value == pytest.approx(res.pvalue, rel=RTOL, abs=1e-300)


def test_kind_mismatch_is_refused() -> None:
    num = profile_columns({"c": [1.0, 2.0]}).features["c"]
    with pytest.raises(ValueError, match="numeric in the baseline but categorical"):
        ChiSquareTest().compare(num, _cat(["a"]))
