"""Every built-in drift test implements the Protocol and returns a sane TestResult."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.core.errors import UnknownPluginError
from monitor.drift.profile import FeatureKind, profile_columns
from monitor.drift.stattests import BUILTIN_TESTS, DriftTest, TestResult, create_test, drift_tests

PROFILE = profile_columns({
    "n": np.random.default_rng(0).normal(size=400),
    "c": np.random.default_rng(1).choice(["a", "b", "c"], size=400)})
NOW = profile_columns({
    "n": np.random.default_rng(2).normal(0.5, size=300),
    "c": np.random.default_rng(3).choice(["a", "b", "d"], size=300)})


@pytest.mark.parametrize("name", sorted(BUILTIN_TESTS))
def test_builtin_implements_the_protocol(name: str) -> None:
    options = {"permutations": 50, "max_samples": 200} if name == "mmd" else {}
    test = create_test(name, **options)
    assert isinstance(test, DriftTest) and test.name == name and test.kinds
    for kind in test.kinds:
        feature = "n" if kind is FeatureKind.NUMERIC else "c"
        result = test.compare(PROFILE.features[feature], NOW.features[feature])
        assert isinstance(result, TestResult) and result.test == name
        assert np.isfinite(result.statistic) and np.isfinite(result.effect)
        assert (result.p_value is None) == (name in {"psi", "jensenshannon", "hellinger",
                                                     "wasserstein"})


def test_registry_group_and_unknown_names() -> None:
    assert drift_tests.group == "watchkeeper.drift_tests"
    with pytest.raises(UnknownPluginError, match="no plugin named 'nope'"):
        create_test("nope")


def test_result_checks_its_p_value() -> None:
    with pytest.raises(ValueError, match="p_value must be in"):
        TestResult(test="x", statistic=1.0, p_value=1.5, effect=0.0)
    with pytest.raises(ValueError, match="statistic is NaN"):
        TestResult(test="x", statistic=float("nan"), p_value=None, effect=0.0)
