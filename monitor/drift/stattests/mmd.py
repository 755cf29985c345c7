"""Maximum mean discrepancy with a permutation test, in torch (CUDA when present).

Statistic: the unbiased estimate of MMD² (Gretton et al. 2012, eq. 3) between the
baseline and window values with a Gaussian kernel ``exp(-(x - y)**2 / (2 s**2))``, ``s``
the median distance between pooled values (the median heuristic; 1 if that is 0).
P-value: ``(1 + #{permuted MMD² >= observed}) / (1 + permutations)`` over random
relabellings of the pooled sample, which keeps the test's size at or below alpha for
any sample size. All permutations are evaluated at once as matrix products with the
pooled kernel matrix.
Effect: the MMD² estimate itself.

Defaults: 200 permutations and at most 1,000 values per side. Larger profiles are
subsampled without replacement (a sketch baseline is sampled at random quantiles), so a
test on a million rows costs the same as one on a thousand; draws and permutations come
from ``numpy.random.default_rng(seed)`` (seed 0), so results are reproducible and the
same on CPU and GPU. Values are scaled by the baseline's standard deviation first.

torch is imported when a test runs, never with the package; without it the test raises
:class:`~monitor.core.errors.MissingExtraError`.

References
----------
A. Gretton, K. Borgwardt, M. Rasch, B. Schölkopf and A. Smola, "A Kernel Two-Sample Test",
JMLR 13 (2012), 723-773.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from monitor.core.errors import MissingExtraError
from monitor.drift.profile import FeatureKind, FeatureProfile
from monitor.drift.stattests._numeric import need_numeric
from monitor.drift.stattests.base import DriftTestError, TestResult

__all__ = ["DEFAULT_MAX_SAMPLES", "DEFAULT_PERMUTATIONS", "MMDTest", "mmd_permutation_test",
           "sample_values"]

DEFAULT_PERMUTATIONS = 200
DEFAULT_MAX_SAMPLES = 1000


def _torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise MissingExtraError("mmd drift test", "train") from exc


def sample_values(profile: FeatureProfile, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Return at most *limit* of the profile's finite values, drawn without replacement."""
    if profile.values is not None:
        if profile.values.size <= limit:
            return profile.values
        return profile.values[np.sort(rng.choice(profile.values.size, limit, replace=False))]
    if profile.sketch is not None:
        return profile.sketch.quantiles(np.sort(rng.random(min(limit, profile.sketch.n))))
    return np.empty(0)


def mmd_permutation_test(x: np.ndarray, y: np.ndarray, *,
                         permutations: int = DEFAULT_PERMUTATIONS,
                         seed: int = 0, device: str | None = None) -> tuple[float, float]:
    """Return (unbiased MMD², permutation p-value) for two 1-D samples.

    *device* is a torch device name; None = CUDA when available, else CPU.
    """
    torch = _torch()
    n, m = int(x.size), int(y.size)
    if n < 2 or m < 2:
        raise DriftTestError(f"mmd: needs at least 2 values on each side, got {n} and {m}")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    pooled = torch.as_tensor(np.concatenate([x, y]), dtype=torch.float64, device=dev)
    dist = (pooled[:, None] - pooled[None, :]).abs()
    scale = float(torch.median(dist[torch.triu_indices(n + m, n + m, 1, device=dev).unbind()]))
    kernel = torch.exp(-(dist / (scale if scale > 0 else 1.0)) ** 2 / 2.0)
    kernel.fill_diagonal_(0.0)                # U-statistic: no i == j terms
    rng = np.random.default_rng(seed)
    order = np.vstack([np.arange(n + m), np.argsort(rng.random((permutations, n + m)), axis=1)])
    labels = torch.zeros((permutations + 1, n + m), dtype=torch.float64, device=dev)
    labels.scatter_(1, torch.as_tensor(order[:, :n], device=dev), 1.0)
    other = 1.0 - labels
    s_xx = ((labels @ kernel) * labels).sum(dim=1)
    s_yy = ((other @ kernel) * other).sum(dim=1)
    s_xy = ((labels @ kernel) * other).sum(dim=1)
    stats = s_xx / (n * (n - 1)) + s_yy / (m * (m - 1)) - 2.0 * s_xy / (n * m)
    observed = float(stats[0])
    exceed = int((stats[1:] >= observed - 1e-12 * abs(observed)).sum())
    return observed, (1.0 + exceed) / (1.0 + permutations)


class MMDTest:
    """Kernel MMD permutation test (numeric), torch; effect = MMD²."""

    name = "mmd"
    kinds = frozenset({FeatureKind.NUMERIC})

    def __init__(self, *, permutations: int = DEFAULT_PERMUTATIONS,
                 max_samples: int = DEFAULT_MAX_SAMPLES, seed: int = 0,
                 device: str | None = None) -> None:
        if permutations < 1 or max_samples < 2:
            raise ValueError(f"mmd: permutations must be >= 1 and max_samples >= 2, got "
                             f"{permutations} and {max_samples}")
        self.permutations, self.max_samples = permutations, max_samples
        self.seed, self.device = seed, device

    def compare(self, baseline: FeatureProfile, current: FeatureProfile) -> TestResult:
        """Return MMD², its permutation p-value, and MMD² as the effect."""
        need_numeric(baseline, "baseline", self.name)
        need_numeric(current, "window", self.name)
        rng = np.random.default_rng(self.seed)
        x = sample_values(baseline, self.max_samples, rng)
        y = sample_values(current, self.max_samples, rng)
        spread = baseline.std if baseline.std > 0 else 1.0
        statistic, p = mmd_permutation_test(x / spread, y / spread,
                                            permutations=self.permutations,
                                            seed=self.seed, device=self.device)
        return TestResult(test=self.name, statistic=statistic, p_value=p, effect=statistic)
