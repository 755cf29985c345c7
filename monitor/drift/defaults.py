"""Which test a feature gets by default, and the default thresholds.

Two presets:

``"watchkeeper"`` (the default): every feature gets a p-value test — Kolmogorov–Smirnov
for numeric features, chi-square for categorical ones — whose p-values are corrected
together (Benjamini–Hochberg unless configured otherwise), AND an effect-size gate, so a
feature drifts only when the change is both significant and large enough to matter:

* numeric: normalised Wasserstein-1 (W1 / baseline std) >= 0.05, i.e. the mass moved
  at least a twentieth of a standard deviation on average. A +0.1 sd shift gives 0.1,
  a x1.3 scale change about 0.24; the sampling noise of two N(0, 1) samples of 100,000
  and 10,000 values is about 0.01.
* categorical: Jensen–Shannon distance (base 2) >= 0.03. A 2% share on a new level gives
  about 0.1, moving five points of share between two of ten levels about 0.07; the noise
  for ten levels and samples of 100,000 and 10,000 is about 0.013 (0.024 at the 99.9th
  percentile).

``"evidently"``: Evidently's automatic choice (its "how it works" documentation): with a
reference of at most 1,000 values, numeric -> KS, categorical -> chi-square (binary ->
a two-proportion z-test, which equals the 2 x 2 chi-square without correction, so
chi-square is used), at p < 0.05; past 1,000 values, numeric -> normalised Wasserstein
and categorical -> Jensen–Shannon distance, each at a threshold of 0.1. No effect gate
and no correction apply to this preset's statistic thresholds. (Evidently also treats a
numeric feature with at most 5 distinct values as categorical; Watchkeeper decides kinds
when profiling, so that rule is not repeated here.)

For tests without a p-value (psi, jensenshannon, hellinger, wasserstein) ``threshold``
is a statistic threshold: the feature drifts when the statistic reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from monitor.drift.profile import FeatureKind

__all__ = ["DEFAULT_ALPHA", "DEFAULT_PRESET", "EFFECT_THRESHOLDS", "EVIDENTLY_SMALL_N",
           "PRESETS", "P_VALUE_TESTS", "STATISTIC_THRESHOLDS", "TestChoice", "default_test",
           "effect_threshold", "statistic_threshold"]

DEFAULT_ALPHA = 0.05
DEFAULT_PRESET = "watchkeeper"
PRESETS = ("watchkeeper", "evidently")
EVIDENTLY_SMALL_N = 1000
"""Evidently's reference size up to which p-value tests are chosen."""

P_VALUE_TESTS = frozenset({"ks", "chisquare", "anderson", "mmd"})
"""Tests whose threshold is an alpha for the (corrected) p-value."""

STATISTIC_THRESHOLDS = MappingProxyType({
    "psi": 0.1, "jensenshannon": 0.1, "hellinger": 0.1, "wasserstein": 0.1})
"""Default drift thresholds of the tests without a p-value."""

EFFECT_THRESHOLDS = MappingProxyType({
    "ks": 0.05, "anderson": 0.05,          # normalised Wasserstein-1
    "chisquare": 0.03,                     # Jensen–Shannon distance, base 2
    "mmd": 0.0,
    "psi": 0.0, "jensenshannon": 0.0, "hellinger": 0.0, "wasserstein": 0.0})
"""Default effect gates; tests without a p-value gate on their statistic threshold."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TestChoice:
    """A test with its drift threshold and effect threshold."""

    __test__ = False  # not a pytest test class

    test: str
    threshold: float
    effect_threshold: float


def statistic_threshold(test: str, alpha: float = DEFAULT_ALPHA) -> float:
    """Return the default threshold of *test*: alpha, or its statistic threshold."""
    return STATISTIC_THRESHOLDS.get(test, alpha) if test not in P_VALUE_TESTS else alpha


def effect_threshold(test: str) -> float:
    """Return the default effect gate of *test* (0 for tests not listed)."""
    return EFFECT_THRESHOLDS.get(test, 0.0)


def default_test(kind: FeatureKind, baseline_size: int, *, preset: str = DEFAULT_PRESET,
                 alpha: float = DEFAULT_ALPHA) -> TestChoice:
    """Return the test a feature of *kind* gets by default under *preset*.

    *baseline_size* is the number of baseline values (Evidently's rule looks at it).
    """
    if preset == "watchkeeper":
        test = "ks" if kind is FeatureKind.NUMERIC else "chisquare"
        return TestChoice(test=test, threshold=alpha, effect_threshold=effect_threshold(test))
    if preset == "evidently":
        if baseline_size <= EVIDENTLY_SMALL_N:
            test = "ks" if kind is FeatureKind.NUMERIC else "chisquare"
            return TestChoice(test=test, threshold=alpha, effect_threshold=0.0)
        test = "wasserstein" if kind is FeatureKind.NUMERIC else "jensenshannon"
        return TestChoice(test=test, threshold=0.1, effect_threshold=0.0)
    raise ValueError(f"drift preset {preset!r} is not known; use one of {', '.join(PRESETS)}")
