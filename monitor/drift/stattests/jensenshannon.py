"""Jensen–Shannon distance between baseline and window frequencies (no p-value).

Statistic and effect: ``sqrt(JSD(p, q))`` with base-2 logarithms, so it lies in [0, 1];
``p`` and ``q`` are the baseline and window shares over the baseline's levels plus the
window's unseen levels (categorical), or over the baseline's decile bins (numeric). Zero
shares need no epsilon: ``0 * log 0`` is 0 and the mixture ``(p + q) / 2`` is positive
wherever either share is. Equal to ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.

Examples
--------
>>> import numpy as np
>>> round(js_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 6)
1.0
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import counts_for
from monitor.drift.stattests.base import TestResult

__all__ = ["JensenShannonTest", "js_distance"]


def js_distance(baseline_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Return the base-2 Jensen–Shannon distance between two count vectors."""
    p = baseline_counts / baseline_counts.sum()
    q = current_counts / current_counts.sum()
    m = (p + q) / 2.0
    divergence = (special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()) / 2.0
    return math.sqrt(max(float(divergence) / math.log(2.0), 0.0))


class JensenShannonTest:
    """Jensen–Shannon distance, base 2 (categorical; numeric over decile bins)."""

    name = "jensenshannon"
    kinds = frozenset({FeatureKind.CATEGORICAL, FeatureKind.NUMERIC})

    def __init__(self, *, bins: int = 10) -> None:
        self.bins = bins

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return the distance as statistic and effect."""
        value = js_distance(*counts_for(baseline, current, self.bins, self.name))
        return TestResult(test=self.name, statistic=value, p_value=None, effect=value)
