"""PSI, Jensen–Shannon and Hellinger: textbook formulas, SciPy, zero shares, numeric bins."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy.spatial import distance  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureProfile, profile_columns
from monitor.drift.stattests import hellinger, jensenshannon, psi
from monitor.drift.stattests._numeric import binned_counts
from monitor.drift.stattests.hellinger import HellingerTest, hellinger_distance
from monitor.drift.stattests.jensenshannon import JensenShannonTest, js_distance
from monitor.drift.stattests.psi import EPSILON, PSITest

RTOL = 1e-9


def _cat(values: list[str]) -> FeatureProfile:
    return profile_columns({"c": values}, categorical=["c"]).features["c"]


BASE = _cat(["a"] * 500 + ["b"] * 300 + ["c"] * 200)
NOW = _cat(["a"] * 400 + ["b"] * 350 + ["c"] * 150 + ["new"] * 100)
E = np.array([0.5, 0.3, 0.2, 0.0])     # baseline shares, unseen level last
A = np.array([0.4, 0.35, 0.15, 0.1])   # window shares


def test_psi_matches_the_textbook_formula_with_epsilon_for_zero_shares() -> None:
    e = np.where(E == 0, EPSILON, E)
    expected = sum((a - x) * math.log(a / x) for a, x in zip(A, e, strict=True))
    result = PSITest().compare(BASE, NOW)
    assert result.statistic == pytest.approx(expected, rel=RTOL)
    assert result.p_value is None and result.effect == result.statistic


def test_psi_of_identical_frequencies_is_zero() -> None:
    assert PSITest().compare(BASE, BASE).statistic == 0.0


def test_jensen_shannon_matches_scipy_base_2() -> None:
    result = JensenShannonTest().compare(BASE, NOW)
    assert result.statistic == pytest.approx(distance.jensenshannon(E, A, base=2), rel=RTOL)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = rng.random(12), rng.random(12)
        p[rng.integers(12)] = 0.0
        assert js_distance(p, q) == pytest.approx(distance.jensenshannon(p, q, base=2),
                                                  rel=RTOL)


def test_hellinger_matches_its_definition() -> None:
    expected = math.sqrt(1.0 - float(np.sqrt(E * A).sum()))
    assert HellingerTest().compare(BASE, NOW).statistic == pytest.approx(expected, rel=RTOL)
    assert hellinger_distance(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0


def test_numeric_bins_come_from_baseline_deciles() -> None:
    x = np.arange(1.0, 101.0)
    base = profile_columns({"x": x}).features["x"]
    now = profile_columns({"x": np.array([5.0, 15.0, 95.0, 200.0])}).features["x"]
    b, c = binned_counts(base, now, 10)
    np.testing.assert_array_equal(b, [10] * 10)            # (-inf, 10], (10, 20], ...
    np.testing.assert_array_equal(c, [1, 1, 0, 0, 0, 0, 0, 0, 0, 2])
    result = JensenShannonTest().compare(base, now)
    assert result.statistic == pytest.approx(distance.jensenshannon(b, c, base=2), rel=RTOL)


def test_heavy_ties_merge_bins() -> None:
    base = profile_columns({"x": np.array([0.0] * 90 + [1.0] * 10)}).features["x"]
    now = profile_columns({"x": np.array([0.0] * 50 + [1.0] * 50)}).features["x"]
    b, c = binned_counts(base, now, 10)
    np.testing.assert_array_equal(b, [90, 10])
    np.testing.assert_array_equal(c, [50, 50])


def test_empty_side_is_refused() -> None:
    empty = profile_columns({"c": [None, None]}, categorical=["c"]).features["c"]
    with pytest.raises(ValueError, match="psi: feature 'c' has no values in the window"):
        PSITest().compare(BASE, empty)


@pytest.mark.parametrize("module", [psi, jensenshannon, hellinger])
def test_doctests_pass(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
