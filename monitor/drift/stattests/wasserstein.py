"""Normalised Wasserstein-1 distance (no p-value).

Statistic and effect: ``W1(baseline, window) / std(baseline)``, the Wasserstein-1 (earth
mover's) distance between the two empirical distributions over the baseline's
population standard deviation (``ddof=0``), as Evidently's ``wasserstein`` drift method
normalises it. It reads in standard deviations: 0.1 means the mass moved a tenth of a
standard deviation on average. W1 itself equals ``scipy.stats.wasserstein_distance`` on
the same values; it is computed from the baseline's prefix sums at the window's distinct
values (see :mod:`monitor.drift.stattests._numeric`). A constant baseline gives 0 when
nothing moved and infinity otherwise. With a sketch baseline, W1 is off by at most the
sketch's rank error times the baseline's range, ``rank_error * (max - min)``.

Examples
--------
>>> import numpy as np
>>> from monitor.drift.profile import profile_columns
>>> base = profile_columns({"x": np.array([0.0, 1.0, 2.0, 3.0])}).features["x"]
>>> now = profile_columns({"x": np.array([1.0, 2.0, 3.0, 4.0])}).features["x"]
>>> round(WassersteinTest().compare(base, now).statistic, 6)  # W1 = 1, std = 1.118034
0.894427
"""

from __future__ import annotations

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import ecdf, need_numeric, normalised, steps, wasserstein1
from monitor.drift.stattests.base import TestResult

__all__ = ["WassersteinTest", "wasserstein_distance"]


def wasserstein_distance(baseline: FeatureProfile, current: FeatureProfile) -> float:
    """Return the (unnormalised) Wasserstein-1 distance between two numeric profiles."""
    need_numeric(baseline, "baseline", "wasserstein")
    need_numeric(current, "window", "wasserstein")
    return wasserstein1(ecdf(baseline), steps(current))


class WassersteinTest:
    """Wasserstein-1 distance over the baseline's standard deviation (numeric)."""

    name = "wasserstein"
    kinds = frozenset({FeatureKind.NUMERIC})

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return the normalised distance as statistic and effect."""
        value = normalised(wasserstein_distance(baseline, current), baseline)
        return TestResult(test=self.name, statistic=value, p_value=None, effect=value)
