"""Hellinger distance between baseline and window frequencies (no p-value).

Statistic and effect: ``H = ||sqrt(p) - sqrt(q)||_2 / sqrt(2)``, in [0, 1], over the
same shares as :mod:`~monitor.drift.stattests.jensenshannon` (categorical levels plus
unseen ones, or the baseline's decile bins); zeros need no epsilon.

Examples
--------
>>> import numpy as np
>>> round(hellinger_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 6)
1.0
"""

from __future__ import annotations

import math

import numpy as np

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import counts_for
from monitor.drift.stattests.base import TestResult

__all__ = ["HellingerTest", "hellinger_distance"]


def hellinger_distance(baseline_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Return the Hellinger distance between two count vectors' shares."""
    p = baseline_counts / baseline_counts.sum()
    q = current_counts / current_counts.sum()
    return float(np.linalg.norm(np.sqrt(p) - np.sqrt(q)) / math.sqrt(2.0))


class HellingerTest:
    """Hellinger distance (categorical; numeric over decile bins)."""

    name = "hellinger"
    kinds = frozenset({FeatureKind.CATEGORICAL, FeatureKind.NUMERIC})

    def __init__(self, *, bins: int = 10) -> None:
        self.bins = bins

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return the distance as statistic and effect."""
        value = hellinger_distance(*counts_for(baseline, current, self.bins, self.name))
        return TestResult(test=self.name, statistic=value, p_value=None, effect=value)
