"""Bonferroni and Benjamini–Hochberg adjusted p-values."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]

from monitor.drift import correction
from monitor.drift.correction import adjust, benjamini_hochberg, bonferroni


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.random(20), rng.random(5) * 1e-4, [0.0, 1.0, 0.5, 0.5]])
    np.testing.assert_allclose(benjamini_hochberg(list(p)),
                               stats.false_discovery_control(p, method="bh"),
                               rtol=1e-12, atol=0)


def test_bonferroni_multiplies_and_caps() -> None:
    assert bonferroni([0.01, 0.2, 0.5]) == [0.03, pytest.approx(0.6), 1.0]


def test_adjust_dispatches_and_refuses_unknown_methods() -> None:
    assert adjust([0.2, 0.01], "none") == [0.2, 0.01]
    assert adjust([0.2, 0.01], "bonferroni") == [0.4, 0.02]
    assert adjust([], "benjamini-hochberg") == []
    with pytest.raises(ValueError, match="correction 'holm' is not known"):
        adjust([0.1], "holm")


def test_p_values_outside_0_1_are_refused() -> None:
    with pytest.raises(ValueError, match=r"numbers in \[0, 1\], got \[1.5\]"):
        bonferroni([1.5])


def test_doctests_pass() -> None:
    result = doctest.testmod(correction)
    assert result.attempted > 0 and result.failed == 0
