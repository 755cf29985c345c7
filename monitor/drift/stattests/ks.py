"""Two-sample Kolmogorov–Smirnov test, from sorted profiles.

Statistic: ``D = sup |F_baseline - F_window|`` over finite values (two-sided).
P-value: as ``scipy.stats.ks_2samp(method="auto")``: exact when both samples have at
most 10,000 values, otherwise the asymptotic ``kstwo.sf(D, round(n*m/(n+m)))``. The exact
p-value is ``P(D >= h/lcm(n, m))`` for a uniformly random merge of the two samples,
computed by a dynamic programme over lattice paths that adds up the probability of first
leaving the band ``|x/n - y/m| < D`` (a sum of positive terms, so small p-values keep
their relative accuracy). As in SciPy, D is first rounded to the lattice, ``h/lcm``.
Effect: the normalised Wasserstein-1 distance (W1 over the baseline's standard
deviation), so a tiny but significant shift in a huge sample can be told apart from one
that matters.

With a sketch baseline, D is off by at most the sketch's rank error (see
:mod:`monitor.drift.sketch`), and n is the sketch's value count.

Examples
--------
>>> import numpy as np
>>> from monitor.drift.profile import profile_columns
>>> rng = np.random.default_rng(0)
>>> base = profile_columns({"x": rng.normal(size=500)}).features["x"]
>>> now = profile_columns({"x": rng.normal(0.5, size=300)}).features["x"]
>>> result = KSTest().compare(base, now)
>>> result.p_value < 1e-6
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import (
    ecdf,
    ks_statistic,
    need_numeric,
    normalised,
    steps,
    wasserstein1,
)
from monitor.drift.stattests.base import TestResult

__all__ = ["EXACT_MAX_N", "KSTest", "ks_pvalue"]

EXACT_MAX_N = 10_000
"""Both samples at most this large: exact p-value (scipy's ``MAX_AUTO_N``)."""


def _exact_sf(n1: int, n2: int, h: int) -> float:
    """Return P(max |x*(n2/g) - y*(n1/g)| >= h) over random paths (0,0) -> (n1,n2)."""
    g = math.gcd(n1, n2)
    a, b = n2 // g, n1 // g
    total = n1 + n2
    mass = np.zeros(n1 + 2)
    mass[0] = 1.0
    xs = np.arange(n1 + 2, dtype=np.float64)
    outside = 0.0
    for t in range(total):
        lo, hi = max(0, t - n2), min(t, n1)          # x range reachable at step t
        p = mass[lo:hi + 1]
        x = xs[lo:hi + 1]
        right = p * (n1 - x) / (total - t)           # x + 1
        up = p * (n2 - (t - x)) / (total - t)        # y + 1
        nxt = np.zeros(hi - lo + 2)
        nxt[1:] += right
        nxt[:-1] += up
        nlo = lo
        x1 = xs[nlo:nlo + nxt.size]
        crossed = np.abs(x1 * a - (t + 1 - x1) * b) >= h
        outside += float(nxt[crossed].sum())
        nxt[crossed] = 0.0
        mass[lo:hi + 1] = 0.0
        mass[nlo:nlo + nxt.size] = nxt
    return outside


def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """Return (D, p) as scipy's ks_2samp(method="auto") would for sizes n1, n2.

    In the exact regime D is snapped to the lattice ``round(D * lcm) / lcm``.
    """
    if max(n1, n2) <= EXACT_MAX_N:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = int(np.round(d * lcm))
        d = h / lcm
        if h == 0:
            return d, 1.0
        return d, float(min(max(_exact_sf(n1, n2, h), 0.0), 1.0))
    big, small = sorted([float(n1), float(n2)], reverse=True)
    en = big * small / (big + small)
    p = float(stats.kstwo.sf(d, np.round(en)))
    return d, min(max(p, 0.0), 1.0)


class KSTest:
    """Two-sample Kolmogorov–Smirnov test (numeric); effect = normalised W1."""

    name = "ks"
    kinds = frozenset({FeatureKind.NUMERIC})

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return D, its p-value and the normalised Wasserstein-1 distance."""
        need_numeric(baseline, "baseline", self.name)
        need_numeric(current, "window", self.name)
        b, c = ecdf(baseline), steps(current)
        d, le = ks_statistic(b, c)
        d, p = ks_pvalue(d, b.n, c.m)
        return TestResult(test=self.name, statistic=d, p_value=p,
                          effect=normalised(wasserstein1(b, c, le), baseline))

