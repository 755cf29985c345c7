"""Pearson chi-square test of homogeneity between baseline and window counts.

Formulation: the 2 x K contingency table of counts (baseline row, window row) over the
baseline's levels plus the window's unseen levels; levels with no count in either row
are dropped. ``chi2 = sum((O - E)**2 / E)`` with ``E`` from the row and column totals,
``K - 1`` degrees of freedom, no continuity correction — the same numbers as
``scipy.stats.chi2_contingency(table, correction=False)``. It treats both rows as
samples, so an unseen level (zero in the baseline row) needs no epsilon: its expected
counts come from the pooled total. With two levels it is the two-proportion z-test
squared (same p-value). A numeric feature is compared over the baseline's decile bins
(see :func:`monitor.drift.stattests._numeric.binned_counts`).

Effect: the Jensen–Shannon distance (base 2, in [0, 1]) between the two rows' shares,
so that a large window does not alarm on a negligible change in frequencies.

Examples
--------
>>> from monitor.drift.profile import profile_columns
>>> base = profile_columns({"c": ["a"] * 50 + ["b"] * 50}).features["c"]
>>> now = profile_columns({"c": ["a"] * 80 + ["b"] * 20}).features["c"]
>>> result = ChiSquareTest().compare(base, now)
>>> round(result.statistic, 4), result.p_value < 0.001
(19.7802, True)
"""

from __future__ import annotations

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import counts_for
from monitor.drift.stattests.base import TestResult
from monitor.drift.stattests.jensenshannon import js_distance

__all__ = ["ChiSquareTest", "chi_square"]


def chi_square(baseline_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """Return (statistic, p-value) of the 2 x K homogeneity test, no continuity correction."""
    table = np.vstack([baseline_counts, current_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return statistic, float(stats.chi2.sf(statistic, table.shape[1] - 1))


class ChiSquareTest:
    """Chi-square homogeneity test (categorical; numeric over decile bins)."""

    name = "chisquare"
    kinds = frozenset({FeatureKind.CATEGORICAL, FeatureKind.NUMERIC})

    def __init__(self, *, bins: int = 10) -> None:
        self.bins = bins

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return chi2, its p-value and the Jensen–Shannon distance of the shares."""
        b, c = counts_for(baseline, current, self.bins, self.name)
        statistic, p = chi_square(b, c)
        return TestResult(test=self.name, statistic=statistic, p_value=p,
                          effect=js_distance(b, c))
