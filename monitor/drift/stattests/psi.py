"""Population Stability Index (no p-value).

Statistic and effect: ``PSI = sum((a - e) * ln(a / e))`` where ``e`` are the baseline
shares and ``a`` the window shares, over the baseline's levels plus the window's unseen
levels (categorical) or the baseline's decile bins (numeric). A zero share would make
the logarithm infinite, so — as Evidently does — every zero share is replaced by
``epsilon = 1e-4`` before the sum (shares are not renormalised). Conventional reading:
below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 large.

Examples
--------
>>> import numpy as np
>>> round(psi(np.array([50.0, 50.0]), np.array([60.0, 40.0])), 6)
0.040547
"""

from __future__ import annotations

import numpy as np

from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import counts_for
from monitor.drift.stattests.base import TestResult

__all__ = ["EPSILON", "PSITest", "psi"]

EPSILON = 1e-4
"""Share used in place of a zero share."""


def psi(baseline_counts: np.ndarray, current_counts: np.ndarray, *,
        epsilon: float = EPSILON) -> float:
    """Return the PSI of the window counts against the baseline counts."""
    e = baseline_counts / baseline_counts.sum()
    a = current_counts / current_counts.sum()
    e = np.where(e == 0, epsilon, e)
    a = np.where(a == 0, epsilon, a)
    return float(((a - e) * np.log(a / e)).sum())


class PSITest:
    """Population Stability Index (categorical; numeric over decile bins)."""

    name = "psi"
    kinds = frozenset({FeatureKind.CATEGORICAL, FeatureKind.NUMERIC})

    def __init__(self, *, bins: int = 10, epsilon: float = EPSILON) -> None:
        self.bins, self.epsilon = bins, epsilon

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return the PSI as statistic and effect."""
        value = psi(*counts_for(baseline, current, self.bins, self.name), epsilon=self.epsilon)
        return TestResult(test=self.name, statistic=value, p_value=None, effect=value)
