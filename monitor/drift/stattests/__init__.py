"""Drift tests, one per module, behind the ``watchkeeper.drift_tests`` plug-in group.

Built-in tests are registered through entry points like third-party ones; ``create_test``
also knows them by name, so they work from a source checkout whose entry points are not
installed.
"""

from __future__ import annotations

import importlib

from monitor.drift.stattests.base import DriftTest, DriftTestError, TestResult, drift_tests

__all__ = ["BUILTIN_TESTS", "DriftTest", "DriftTestError", "TestResult", "create_test",
           "drift_tests"]

BUILTIN_TESTS = {
    "ks": "monitor.drift.stattests.ks:KSTest",
    "chisquare": "monitor.drift.stattests.chisquare:ChiSquareTest",
    "psi": "monitor.drift.stattests.psi:PSITest",
    "jensenshannon": "monitor.drift.stattests.jensenshannon:JensenShannonTest",
    "hellinger": "monitor.drift.stattests.hellinger:HellingerTest",
    "wasserstein": "monitor.drift.stattests.wasserstein:WassersteinTest",
    "anderson": "monitor.drift.stattests.anderson:AndersonTest",
    "mmd": "monitor.drift.stattests.mmd:MMDTest",
}
"""Built-in test names and their ``module:Class`` (the entry-point values)."""


def create_test(name: str, /, **options: object) -> DriftTest:
    """Build drift test *name*: a built-in, else one from the entry-point group."""
    target = BUILTIN_TESTS.get(name)
    if target is None:
        return drift_tests.create(name, **options)
    module, _, attr = target.partition(":")
    test: DriftTest = getattr(importlib.import_module(module), attr)(**options)
    return test
