"""The drift-test plug-in point: a result type, the Protocol, and the registry.

A drift test compares a feature's baseline profile with the current window's profile
and returns a statistic, a p-value where the test defines one, and an effect size that
:func:`monitor.drift.check.check` holds against an effect threshold, so that a large
sample does not raise an alarm for a shift nobody cares about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from monitor.core.plugins import Registry
from monitor.drift.profile import FeatureKind, FeatureProfile

__all__ = ["DriftTest", "DriftTestError", "TestResult", "drift_tests"]


class DriftTestError(ValueError):
    """A test cannot compare these profiles (too few values, wrong kind, no spread)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResult:
    """What one test found for one feature."""

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    p_value: float | None
    effect: float

    def __post_init__(self) -> None:
        if self.p_value is not None and not 0.0 <= self.p_value <= 1.0:
            raise ValueError(f"{self.test}: p_value must be in [0, 1], got {self.p_value}")
        if math.isnan(self.statistic):
            raise ValueError(f"{self.test}: statistic is NaN")


@runtime_checkable
class DriftTest(Protocol):
    """Compare a baseline feature profile with the current window's profile."""

    name: str
    kinds: frozenset[FeatureKind]

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return the test's statistic, p-value (or None) and effect size."""
        ...


drift_tests: Registry[DriftTest] = Registry("watchkeeper.drift_tests", DriftTest)
"""Drift tests by name, from the ``watchkeeper.drift_tests`` entry-point group."""
