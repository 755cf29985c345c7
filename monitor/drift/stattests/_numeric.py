"""Shared maths on profiles: ECDFs from sorted values, W1 by prefix sums, binned counts.

Every numeric test works on the baseline's sorted values (or its sketch's weighted items)
and the current window's sorted values, with ``searchsorted`` and no Python loops. The
window is reduced to its distinct values and their cumulative counts; the baseline is
queried at those points only, so a test costs O(m log n) for a window of m values
against a baseline of n.

With a sketch baseline the counts are the sketch's weighted ranks, each off by at most
``sketch.error_bound`` values, so the ECDF (and the KS statistic) is off by at most
``FeatureProfile.rank_error``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests.base import DriftTestError

__all__ = ["Ecdf", "Steps", "binned_counts", "category_counts", "counts_for", "ecdf",
           "ks_statistic",
           "need_numeric", "normalised", "steps", "wasserstein1"]

@dataclass(frozen=True, slots=True)
class Ecdf:
    """A profile's finite values as a step function: sorted items with weights."""

    items: np.ndarray          # sorted ascending
    cum: np.ndarray | None     # int64 cumulative weights, leading 0; None = all weights 1
    n: int                     # total weight
    center: float              # subtracted before prefix sums (keeps them small)

    def le(self, xs: np.ndarray) -> np.ndarray:
        """Weighted count of items ``<= x``."""
        idx = np.searchsorted(self.items, xs, side="right")
        return idx if self.cum is None else self.cum[idx]

    def lt(self, xs: np.ndarray) -> np.ndarray:
        """Weighted count of items ``< x``."""
        idx = np.searchsorted(self.items, xs, side="left")
        return idx if self.cum is None else self.cum[idx]

    def positions(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return item positions ``<= x`` and ``< x`` for sorted *xs*, one binary search.

        The strict position differs only where x equals an item; those few are searched
        again (continuous data has almost none).
        """
        right = np.searchsorted(self.items, xs, side="right")
        tied = np.flatnonzero(self.items[np.maximum(right - 1, 0)] == xs)
        tied = tied[right[tied] > 0]
        if tied.size == 0:
            return right, right
        left = right.copy()
        left[tied] = np.searchsorted(self.items, xs[tied], side="left")
        return right, left

    def weight(self, positions: np.ndarray) -> np.ndarray:
        """Return the weighted count of the items before each position."""
        return positions if self.cum is None else self.cum[positions]

    def prefix(self) -> np.ndarray:
        """Cumulative weighted sums of ``items - center``, with a leading 0.

        Computed per call, not cached: a cache would double a large baseline's memory
        for about 3 ms per million values saved.
        """
        shifted = self.items - self.center
        if self.cum is not None:
            shifted *= np.diff(self.cum)
        found = np.empty(self.items.size + 1)
        found[0] = 0.0
        np.cumsum(shifted, out=found[1:])
        return found


@dataclass(frozen=True, slots=True)
class Steps:
    """The window's distinct finite values and the count of values ``<=`` each."""

    u: np.ndarray      # distinct values, ascending
    cnt: np.ndarray    # int64 cumulative counts at u
    m: int


def need_numeric(profile: FeatureProfile, role: str, test: str) -> None:
    """Raise DriftTestError unless *profile* is numeric with finite values."""
    if profile.kind is not FeatureKind.NUMERIC:
        raise DriftTestError(f"{test}: {role} of feature {profile.name!r} is "
                             f"{profile.kind}, the test needs numbers")
    if profile.finite_count == 0:
        raise DriftTestError(f"{test}: {role} of feature {profile.name!r} has no finite "
                             "values")


def ecdf(profile: FeatureProfile) -> Ecdf:
    """Return the ECDF view of a numeric profile (exact values or sketch)."""
    center = profile.mean if math.isfinite(profile.mean) else 0.0
    if profile.values is not None:
        return Ecdf(profile.values, None, int(profile.values.size), center)
    if profile.sketch is not None:
        items, cum, _ = profile.sketch.weighted()
        return Ecdf(items, cum, int(profile.sketch.n), center)
    return Ecdf(np.empty(0), None, 0, center)


def steps(profile: FeatureProfile) -> Steps:
    """Return the window's distinct values with cumulative counts."""
    e = ecdf(profile)
    if e.items.size == 0:
        return Steps(e.items, np.empty(0, dtype=np.int64), 0)
    last = np.empty(e.items.size, dtype=bool)
    np.not_equal(e.items[1:], e.items[:-1], out=last[:-1])
    last[-1] = True
    idx = np.flatnonzero(last)
    cnt = (idx + 1).astype(np.int64) if e.cum is None else e.cum[idx + 1]
    return Steps(e.items[idx], cnt, e.n)


def ks_statistic(b: Ecdf, c: Steps) -> tuple[float, np.ndarray]:
    """Return sup |F_b - F_c| and the baseline positions ``<= u`` (reused by W1).

    Evaluates at each distinct window value and just before it; these give exactly the
    differences SciPy's ks_2samp takes over the pooled sample, so the maximum is the same
    floating-point number.
    """
    right, left = b.positions(c.u)
    le, lt = b.weight(right), b.weight(left)
    before = np.empty(c.cnt.size, dtype=np.int64)
    before[0] = 0
    before[1:] = c.cnt[:-1]
    d_at = np.abs(le / b.n - c.cnt / c.m).max()
    d_before = np.abs(lt / b.n - before / c.m).max()
    return float(max(d_at, d_before)), right


def wasserstein1(b: Ecdf, c: Steps, right: np.ndarray | None = None) -> float:
    """Return the Wasserstein-1 distance ∫|F_b - F_c| between baseline and window.

    Between consecutive window values F_c is a constant c and F_b - c changes sign at
    most once, at the first baseline item whose count reaches ``c * n`` (found by
    integer arithmetic). With ``G(t) = ∫_{-inf}^t F_b``, computed from prefix sums, each
    piece is a difference of G values. *right* are the baseline positions ``<= u``
    when already known.
    """
    if right is None:
        right = np.searchsorted(b.items, c.u, side="right")
    n, m, s = b.n, c.m, b.prefix()
    le = b.weight(right)
    u = c.u - b.center
    g_u = (le * u - s[right]) / n
    need = (c.cnt * n + m - 1) // m           # ceil(cnt * n / m), exact in int64
    zi = need - 1 if b.cum is None else np.searchsorted(b.cum[1:], need, side="left")
    np.clip(zi, 0, b.items.size - 1, out=zi)
    z = b.items[zi] - b.center
    g_z = (b.weight(zi + 1) * z - s[zi + 1]) / n
    a, hi = u[:-1], u[1:]
    ga, gb = g_u[:-1], g_u[1:]
    share = c.cnt[:-1] / m
    z, g_z = z[:-1], g_z[:-1]
    low, high = z <= a, z >= hi
    zc = np.where(low, a, np.where(high, hi, z))
    gz = np.where(low, ga, np.where(high, gb, g_z))
    # c (zc - a) - (G(zc) - G(a)) + (G(b) - G(zc)) - c (b - zc)
    inner = share * (2.0 * zc - a - hi) - 2.0 * gz + ga + gb
    tail_high = ((s[-1] - s[right[-1]]) - (n - le[-1]) * u[-1]) / n
    return float(g_u[0] + inner.sum() + tail_high)


def binned_counts(baseline: FeatureProfile, current: FeatureProfile,
                  bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Return baseline and window counts over bins cut at the baseline's quantiles.

    Inner edges are the distinct baseline quantiles at ``i / bins``; bins are
    ``(-inf, e1], (e1, e2], ..., (ek, inf)``.
    """
    edges = np.unique(baseline.quantiles(np.arange(1, bins) / bins))
    b = ecdf(baseline)
    c = ecdf(current)
    b_le = np.concatenate([[0], b.le(edges), [b.n]])
    c_le = np.concatenate([[0], c.le(edges), [c.n]])
    return np.diff(b_le).astype(np.float64), np.diff(c_le).astype(np.float64)


def category_counts(baseline: FeatureProfile,
                    current: FeatureProfile) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return counts over the baseline's levels, then the window's unseen levels."""
    keys = list(baseline.categories)
    keys += [k for k in current.categories if k not in baseline.categories]
    b = np.array([baseline.categories.get(k, 0) for k in keys], dtype=np.float64)
    c = np.array([current.categories.get(k, 0) for k in keys], dtype=np.float64)
    return b, c, keys


def counts_for(baseline: FeatureProfile, current: FeatureProfile, bins: int,
               test: str) -> tuple[np.ndarray, np.ndarray]:
    """Return comparable counts: categories, or quantile bins for numeric features."""
    if baseline.kind is not current.kind:
        raise DriftTestError(f"{test}: feature {baseline.name!r} is {baseline.kind} in the "
                             f"baseline but {current.kind} in the window")
    if baseline.kind is FeatureKind.CATEGORICAL:
        b, c, _ = category_counts(baseline, current)
    else:
        need_numeric(baseline, "baseline", test)
        need_numeric(current, "window", test)
        b, c = binned_counts(baseline, current, bins)
    if b.sum() == 0 or c.sum() == 0:
        side = "baseline" if b.sum() == 0 else "window"
        raise DriftTestError(f"{test}: feature {baseline.name!r} has no values in the {side}")
    return b, c


def normalised(w1: float, baseline: FeatureProfile) -> float:
    """Return W1 over the baseline's (population) standard deviation.

    A constant baseline has no spread: the effect is then 0 when nothing moved and
    infinite otherwise (:func:`monitor.drift.check.check` reports constant baselines).
    """
    if baseline.std > 0:
        return w1 / baseline.std
    return 0.0 if w1 == 0 else math.inf
