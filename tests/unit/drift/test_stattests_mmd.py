"""MMD permutation test: calibrated on same-distribution data, sensitive to a shift."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.drift.profile import ProfileBuilder, profile_columns
from monitor.drift.stattests.mmd import MMDTest, mmd_permutation_test, sample_values


def test_false_alarm_rate_is_about_five_percent() -> None:
    p_values = []
    for seed in range(200):
        rng = np.random.default_rng(10_000 + seed)
        _, p = mmd_permutation_test(rng.normal(size=40), rng.normal(size=40),
                                    permutations=100, seed=seed)
        p_values.append(p)
    rate = float(np.mean(np.array(p_values) < 0.05))
    assert 0.02 <= rate <= 0.09


def test_detects_a_shift_and_is_reproducible() -> None:
    rng = np.random.default_rng(1)
    base = profile_columns({"x": rng.normal(size=50_000)}).features["x"]
    now = profile_columns({"x": rng.normal(0.3, size=5_000)}).features["x"]
    test = MMDTest(permutations=100, max_samples=500, device="cpu")
    first = test.compare(base, now)
    assert first.p_value is not None and first.p_value < 0.02 and first.statistic > 0
    assert test.compare(base, now) == first


def test_p_value_is_bounded_by_the_permutation_count() -> None:
    statistic, p = mmd_permutation_test(np.arange(10.0), np.arange(10.0) + 100,
                                        permutations=50)
    assert statistic > 0 and p == pytest.approx(1 / 51)


def test_sketch_profiles_are_sampled_at_random_quantiles() -> None:
    builder = ProfileBuilder(exact_cap=100)
    builder.add({"x": np.arange(10_000.0)})
    f = builder.finish().features["x"]
    sample = sample_values(f, 300, np.random.default_rng(0))
    assert sample.size == 300 and 0 <= sample.min() and sample.max() <= 9_999


def test_bad_options_and_tiny_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="permutations must be >= 1"):
        MMDTest(permutations=0)
    with pytest.raises(ValueError, match="at least 2 values on each side, got 1 and 3"):
        mmd_permutation_test(np.array([1.0]), np.array([1.0, 2.0, 3.0]))
