"""Domain classifier: out-of-fold AUC with a Mann–Whitney p-value; shift and scale seen."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]

from monitor.drift.stattests import classifier
from monitor.drift.stattests.classifier import auc_pvalue, domain_classifier_test


def _rows(rng: np.random.Generator, n: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    return {"x": rng.normal(size=n), "y": rng.normal(size=n) * scale,
            "c": rng.choice(["a", "b", "c"], size=n)}


def test_false_alarm_rate_is_near_alpha() -> None:
    p = [domain_classifier_test(_rows(np.random.default_rng(s), 300),
                                _rows(np.random.default_rng(s + 1000), 200), seed=s).p_value
         for s in range(100)]
    assert 0.0 <= float(np.mean(np.array(p) < 0.05)) <= 0.12


def test_a_change_of_scale_is_detected() -> None:
    rng = np.random.default_rng(0)
    result = domain_classifier_test(_rows(rng, 20_000), _rows(rng, 5_000, scale=1.3))
    assert result.p_value is not None and result.p_value < 1e-10
    assert result.statistic > 0.55 and result.effect == pytest.approx(2 * result.statistic - 1)


def test_auc_p_value_matches_mann_whitney() -> None:
    rng = np.random.default_rng(2)
    scores = np.round(rng.normal(size=300), 1)      # with ties
    labels = (rng.random(300) < 0.4).astype(float)
    auc, p = auc_pvalue(scores, labels)
    ref = stats.mannwhitneyu(scores[labels == 1], scores[labels == 0],
                             alternative="greater", method="asymptotic", use_continuity=False)
    assert auc * (labels == 1).sum() * (labels == 0).sum() == pytest.approx(ref.statistic)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_missing_column_is_refused() -> None:
    with pytest.raises(ValueError, match="column 'y' is in the baseline sample but not"):
        domain_classifier_test({"y": np.zeros(10)}, {"x": np.zeros(10)})


def test_doctests_pass() -> None:
    result = doctest.testmod(classifier)
    assert result.attempted > 0 and result.failed == 0
