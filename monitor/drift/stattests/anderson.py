"""Anderson–Darling k-sample test with k = 2 (baseline and window), midrank variant.

Statistic: the standardised ``A2akN`` of Scholz & Stephens (1987, eq. 7), the midrank
version valid for continuous and discrete data, computed from the two sorted profiles:
the pooled distinct values come from one merge, and each sample's counts below and at
each of them from ``searchsorted``. P-value: as ``scipy.stats.anderson_ksamp`` without a
permutation method: interpolated (quadratic fit of log significance) in Scholz &
Stephens' table of critical values, and therefore capped at 0.25 and floored at 0.001
(where SciPy warns; here the cap is documented instead). Statistic and p-value match
``anderson_ksamp([baseline, window], variant="midrank")``.
Effect: the normalised Wasserstein-1 distance, as for KS.

With a sketch baseline the baseline's items carry their weights; counts are then off by
at most the sketch's rank error.

Examples
--------
>>> import numpy as np
>>> from monitor.drift.profile import profile_columns
>>> rng = np.random.default_rng(0)
>>> base = profile_columns({"x": rng.normal(size=400)}).features["x"]
>>> now = profile_columns({"x": rng.normal(1.0, size=300)}).features["x"]
>>> AndersonTest().compare(base, now).p_value
0.001

References
----------
F. W. Scholz and M. A. Stephens, "K-Sample Anderson-Darling Tests", Journal of the
American Statistical Association 82 (1987), 918-924.
"""

from __future__ import annotations

import math

import numpy as np

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import (
    Ecdf,
    ecdf,
    need_numeric,
    normalised,
    steps,
    wasserstein1,
)
from monitor.drift.stattests.base import DriftTestError, TestResult

__all__ = ["P_CAP", "P_FLOOR", "AndersonTest", "anderson_pvalue", "anderson_statistic"]

P_CAP = 0.25
P_FLOOR = 0.001
_SIG = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])
_B0 = np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
_B1 = np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
_B2 = np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])


def _counts(e: Ecdf, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return weighted counts of items ``< z`` and ``== z``."""
    lt, le = e.lt(z), e.le(z)
    return lt.astype(np.float64), (le - lt).astype(np.float64)


def anderson_statistic(baseline: Ecdf, current: Ecdf) -> float:
    """Return the standardised midrank A2 statistic for two samples."""
    k, samples = 2, (baseline, current)
    n = np.array([float(baseline.n), float(current.n)])
    big_n = int(baseline.n + current.n)
    z = np.unique(np.concatenate([baseline.items, current.items]))
    if z.size < 2:
        raise DriftTestError("anderson: needs more than one distinct value over both samples")
    counts = [_counts(s, z) for s in samples]
    below = counts[0][0] + counts[1][0]       # pooled count < z
    ties = counts[0][1] + counts[1][1]        # pooled count == z
    bj = below + ties / 2.0
    a2 = 0.0
    for i in range(k):
        lt, eq = counts[i]
        mij = lt + eq / 2.0                   # = count <= z minus half the ties
        inner = ties / big_n * (big_n * mij - bj * n[i]) ** 2 / (
            bj * (big_n - bj) - big_n * ties / 4.0)
        a2 += float(inner.sum()) / n[i]
    a2 *= (big_n - 1.0) / big_n
    h_big = float((1.0 / n).sum())
    hs_cs = (1.0 / np.arange(big_n - 1, 1, -1)).cumsum()
    h = float(hs_cs[-1]) + 1 if hs_cs.size else 1.0
    g = float((hs_cs / np.arange(2, big_n)).sum())
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * h_big
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * h_big - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * h_big + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    sigmasq = (a * big_n**3 + b * big_n**2 + c * big_n + d) / (
        (big_n - 1.0) * (big_n - 2.0) * (big_n - 3.0))
    return (a2 - (k - 1)) / math.sqrt(sigmasq)


def anderson_pvalue(statistic: float, k: int = 2) -> float:
    """Return the interpolated p-value, capped at 0.25 and floored at 0.001."""
    m = k - 1
    critical = _B0 + _B1 / math.sqrt(m) + _B2 / m
    if statistic < critical.min():
        return P_CAP
    if statistic > critical.max():
        return P_FLOOR
    fit = np.polyfit(critical, np.log(_SIG), 2)
    return float(math.exp(np.polyval(fit, statistic)))


class AndersonTest:
    """Anderson–Darling two-sample test, midrank (numeric); effect = normalised W1."""

    name = "anderson"
    kinds = frozenset({FeatureKind.NUMERIC})

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return A2, its interpolated p-value and the normalised Wasserstein-1 distance."""
        need_numeric(baseline, "baseline", self.name)
        need_numeric(current, "window", self.name)
        if baseline.finite_count + current.finite_count < 4:
            raise DriftTestError(f"anderson: feature {baseline.name!r} needs at least 4 "
                                 "values over both samples")
        b, c = ecdf(baseline), ecdf(current)
        statistic = anderson_statistic(b, c)
        effect = normalised(wasserstein1(b, steps(current)), baseline)
        return TestResult(test=self.name, statistic=statistic,
                          p_value=anderson_pvalue(statistic), effect=effect)
