"""Multiple-testing correction of per-feature p-values.

Both functions return *adjusted* p-values, compared with the same alpha as the raw ones:
a feature drifts when its adjusted p-value is below alpha.

Examples
--------
>>> bonferroni([0.01, 0.04, 0.5])
[0.03, 0.12, 1.0]
>>> [round(p, 4) for p in benjamini_hochberg([0.01, 0.04, 0.5])]
[0.03, 0.06, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CORRECTIONS", "adjust", "benjamini_hochberg", "bonferroni"]

CORRECTIONS = ("benjamini-hochberg", "bonferroni", "none")
"""Names accepted by :func:`adjust`."""


def _check(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or np.any(~((p >= 0) & (p <= 1))):
        raise ValueError(f"p-values must be a flat sequence of numbers in [0, 1], got "
                         f"{list(p_values)!r}")
    return p


def bonferroni(p_values: Sequence[float]) -> list[float]:
    """Return Bonferroni-adjusted p-values: ``min(1, p * m)`` (controls the FWER)."""
    p = _check(p_values)
    return [float(x) for x in np.minimum(p * p.size, 1.0)]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Return Benjamini–Hochberg adjusted p-values (controls the false discovery rate).

    ``p_(i) * m / i`` for the i-th smallest, made monotone from the largest down and
    capped at 1 — the values of ``scipy.stats.false_discovery_control(p, method="bh")``.
    """
    p = _check(p_values)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(monotone, 1.0)
    return [float(x) for x in out]


def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Return p-values adjusted by *method* (one of :data:`CORRECTIONS`)."""
    if method == "benjamini-hochberg":
        return benjamini_hochberg(p_values)
    if method == "bonferroni":
        return bonferroni(p_values)
    if method == "none":
        return [float(x) for x in _check(p_values)]
    raise ValueError(f"correction {method!r} is not known; use one of "
                     f"{', '.join(CORRECTIONS)}")
