"""Anderson–Darling k-sample (k = 2, midrank) agrees with scipy.stats.anderson_ksamp."""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureProfile, profile_columns
from monitor.drift.stattests import anderson
from monitor.drift.stattests.anderson import P_CAP, P_FLOOR, AndersonTest

RTOL = 1e-9


def _feature(values: np.ndarray) -> FeatureProfile:
    return profile_columns({"x": values}).features["x"]


def _scipy(x: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """Return SciPy's statistic and p-value, and whether it warned that p was capped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", message=r"p-value (capped|floored)",
                                category=UserWarning)
        res = stats.anderson_ksamp([x, y], variant="midrank")
    assert all("p-value" in str(w.message) for w in caught)
    return float(res.statistic), float(res.pvalue), bool(caught)


@pytest.mark.parametrize(("n1", "n2", "kind"), [
    (2, 3, "normal"), (4, 4, "ties"), (5, 9, "shift"), (10, 10, "normal"), (40, 60, "ties"),
    (200, 300, "shift"), (1_000, 800, "normal"), (5_000, 2_000, "shift"),
    (100_000, 10_000, "ties"), (1_000_000, 100_000, "normal"), (30_000, 20_000, "small")])
def test_agrees_with_scipy(n1: int, n2: int, kind: str) -> None:
    rng = np.random.default_rng(n1 + 7 * n2)
    if kind == "ties":
        x, y = rng.integers(0, 6, n1).astype(float), rng.integers(0, 6, n2).astype(float)
    else:
        shift = {"shift": 0.3, "small": 0.03}.get(kind, 0.0)
        x, y = rng.normal(size=n1), rng.normal(shift, size=n2)
    result = AndersonTest().compare(_feature(x), _feature(y))
    statistic, p_value, capped = _scipy(x, y)
    assert result.statistic == pytest.approx(statistic, rel=RTOL, abs=1e-12)
    assert result.p_value == pytest.approx(p_value, rel=RTOL)
    assert capped == (result.p_value in (P_CAP, P_FLOOR))
    assert result.effect == pytest.approx(stats.wasserstein_distance(x, y) / np.std(x),
                                          rel=RTOL, abs=1e-15)


def test_interpolated_region_is_exercised() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=400), rng.normal(0.2, size=400)
    result = AndersonTest().compare(_feature(x), _feature(y))
    assert result.p_value is not None and P_FLOOR < result.p_value < P_CAP
    assert result.p_value == pytest.approx(_scipy(x, y)[1], rel=RTOL)


def test_single_distinct_value_is_refused() -> None:
    one = _feature(np.full(5, 2.0))
    with pytest.raises(ValueError, match="more than one distinct value"):
        AndersonTest().compare(one, one)


def test_doctests_pass() -> None:
    result = doctest.testmod(anderson)
    assert result.attempted > 0 and result.failed == 0
