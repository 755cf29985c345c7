"""Multivariate drift: can a classifier tell baseline rows from window rows?

A logistic regression learns to separate baseline rows (label 0) from window rows
(label 1). Inputs: numeric columns standardised with the baseline's mean and standard
deviation, plus their squares (so a change of spread is learnable, not only a shift),
missing values as 0 with a missing-indicator column; categorical columns one-hot over
their most frequent levels (at most 20, the rest pooled). The rows are split in two
folds; a model fitted on each fold scores the other, so every score is out of sample.

Statistic: the out-of-fold ROC AUC (0.5 = indistinguishable).
P-value: one-sided, from the Mann–Whitney U that equals the AUC times ``n0 * n1``: under
no drift the out-of-fold scores do not depend on the label, so U is approximately normal
with mean ``n0 n1 / 2`` and variance ``n0 n1 (N + 1) / 12`` (less the tie correction),
and ``p = P(Z >= z)``. The two folds' models differ, which makes this approximation a
little optimistic; treat p-values near alpha with care.
Effect: ``2 * AUC - 1`` (0 = no signal, 1 = perfectly separable), clipped at 0.

The model is fitted by Newton's method (L2 penalty 1e-3) in numpy, which is fast for the
few dozen inputs a feature set gives; rows beyond *max_rows* per side are subsampled
(seeded).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> base = {"x": rng.normal(size=2000), "y": rng.normal(size=2000)}
>>> now = {"x": rng.normal(size=2000), "y": rng.normal(1.0, size=2000)}
>>> domain_classifier_test(base, now).p_value < 1e-6
True
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

import numpy as np
from scipy import special, stats  # type: ignore[import-untyped]

from monitor.drift.stattests.base import DriftTestError, TestResult

__all__ = ["MAX_LEVELS", "auc_pvalue", "domain_classifier_test"]

MAX_LEVELS = 20
_PENALTY = 1e-3


def _design(base: Mapping[str, np.ndarray], now: Mapping[str, np.ndarray],
            categorical: Collection[str]) -> tuple[np.ndarray, np.ndarray]:
    blocks_b: list[np.ndarray] = []
    blocks_c: list[np.ndarray] = []
    for name in base:
        if name not in now:
            raise DriftTestError(f"classifier: column {name!r} is in the baseline sample "
                                 "but not in the window")
        b, c = np.asarray(base[name]), np.asarray(now[name])
        if name in categorical or b.dtype.kind in "OUSb":
            levels, counts = np.unique(b.astype(str), return_counts=True)
            top = levels[np.argsort(-counts, kind="stable")[:MAX_LEVELS]]
            blocks_b.append((b.astype(str)[:, None] == top[None, :]).astype(np.float64))
            blocks_c.append((c.astype(str)[:, None] == top[None, :]).astype(np.float64))
            continue
        bf, cf = b.astype(np.float64), c.astype(np.float64)
        ok_b, ok_c = np.isfinite(bf), np.isfinite(cf)
        mean = float(bf[ok_b].mean()) if ok_b.any() else 0.0
        std = float(bf[ok_b].std()) if ok_b.any() else 1.0
        std = std if std > 0 else 1.0
        for values, ok, out in ((bf, ok_b, blocks_b), (cf, ok_c, blocks_c)):
            zs = np.where(ok, (values - mean) / std, 0.0)
            out.append(np.column_stack([zs, zs**2, (~ok).astype(np.float64)]))
    return np.hstack(blocks_b), np.hstack(blocks_c)


def _fit(x: np.ndarray, y: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Return logistic-regression weights (intercept last) by Newton's method."""
    xi = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(xi.shape[1])
    eye = np.eye(xi.shape[1]) * _PENALTY * len(x)
    eye[-1, -1] = 0.0
    for _ in range(iterations):
        p = special.expit(xi @ w)
        grad = xi.T @ (p - y) + eye @ w
        hess = (xi * (p * (1 - p))[:, None]).T @ xi + eye
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def auc_pvalue(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Return (AUC, one-sided normal-approximation p-value) of scores for label 1."""
    ranks = stats.rankdata(scores)
    n1 = int(labels.sum())
    n0 = labels.size - n1
    if n0 == 0 or n1 == 0:
        raise DriftTestError("classifier: both samples need rows")
    u = float(ranks[labels == 1].sum()) - n1 * (n1 + 1) / 2.0
    auc = u / (n0 * n1)
    total = n0 + n1
    _, tie_counts = np.unique(scores, return_counts=True)
    ties = float((tie_counts**3 - tie_counts).sum())
    var = n0 * n1 / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    if var <= 0:
        return auc, 1.0
    z = (u - n0 * n1 / 2.0) / math.sqrt(var)
    return auc, float(stats.norm.sf(z))


def domain_classifier_test(baseline_sample: Mapping[str, np.ndarray],
                           current: Mapping[str, np.ndarray], *,
                           categorical: Collection[str] = (), max_rows: int = 50_000,
                           seed: int = 0) -> TestResult:
    """Return the out-of-fold AUC of a baseline-vs-window classifier, with a p-value.

    Parameters
    ----------
    baseline_sample, current
        Column name -> values (equal lengths within each mapping); the baseline's columns
        are used, and each must be in *current*.
    categorical
        Columns to one-hot encode (string and bool columns always are).
    max_rows
        Rows per side kept (a seeded random subsample beyond that).
    seed
        Seed for the subsample and the fold split.
    """
    if not baseline_sample:
        raise DriftTestError("classifier: the baseline sample has no columns")
    xb, xc = _design(baseline_sample, current, categorical)
    rng = np.random.default_rng(seed)
    if len(xb) > max_rows:
        xb = xb[rng.choice(len(xb), max_rows, replace=False)]
    if len(xc) > max_rows:
        xc = xc[rng.choice(len(xc), max_rows, replace=False)]
    if len(xb) < 4 or len(xc) < 4:
        raise DriftTestError(f"classifier: needs at least 4 rows per side, got {len(xb)} "
                             f"and {len(xc)}")
    x = np.vstack([xb, xc])
    y = np.concatenate([np.zeros(len(xb)), np.ones(len(xc))])
    fold = rng.permutation(len(x)) % 2
    scores = np.empty(len(x))
    for k in (0, 1):
        train, test = fold != k, fold == k
        w = _fit(x[train], y[train])
        scores[test] = np.column_stack([x[test], np.ones(int(test.sum()))]) @ w
    auc, p = auc_pvalue(scores, y)
    return TestResult(test="classifier", statistic=auc, p_value=p,
                      effect=max(0.0, 2.0 * auc - 1.0))
