"""Compare a window's profile with the baseline, feature by feature: the drift report.

Every baseline feature is checked (``CheckConfig.features`` holds per-feature
overrides; a name there that the baseline lacks is reported as an error). Each feature
gets its test (the default for its kind, see :mod:`monitor.drift.defaults`, or an
override), the p-values of p-value tests are corrected together, and a feature drifts
when

* p-value tests: its adjusted p-value is below its threshold (alpha) AND its effect
  reaches its effect threshold;
* other tests: its statistic reaches its threshold AND its effect reaches its effect
  threshold (0 by default for those).

A feature that cannot be compared — the window is empty, the feature is missing from the
window or all-missing, strings arrived where the baseline had numbers, the baseline is
constant — gets status ``error`` (or ``skipped``) with a message saying what is wrong and
what to do, and the other features are still checked.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from monitor.core.errors import MissingExtraError
from monitor.drift.correction import CORRECTIONS, adjust
from monitor.drift.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_PRESET,
    PRESETS,
    default_test,
    effect_threshold,
    statistic_threshold,
)
from monitor.drift.profile import BaselineProfile, FeatureKind, FeatureProfile
from monitor.drift.stattests import DriftTest, TestResult, create_test

__all__ = ["CheckConfig", "DriftReport", "FeatureCheck", "FeatureResult", "FeatureStatus",
           "check"]

_SPREAD_TESTS = frozenset({"ks", "anderson", "wasserstein", "mmd"})


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureCheck:
    """Per-feature override: test, thresholds, or off."""

    test: str | None = None
    threshold: float | None = None        # alpha, or statistic threshold for p-less tests
    effect_threshold: float | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckConfig:
    """How :func:`check` decides: overrides, alpha, correction, effect gate, preset."""

    features: Mapping[str, FeatureCheck] = field(default_factory=dict)
    alpha: float = DEFAULT_ALPHA
    correction: str = "benjamini-hochberg"
    effect_threshold: float | None = None   # None = each test's default
    preset: str = DEFAULT_PRESET

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, "
                             f"got {self.correction!r}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if self.effect_threshold is not None and self.effect_threshold < 0:
            raise ValueError(f"effect_threshold must be >= 0, got {self.effect_threshold}")


class FeatureStatus(StrEnum):
    """Whether a feature was compared."""

    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"


def _json_float(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureResult:
    """One feature's outcome."""

    feature: str
    kind: FeatureKind
    test: str
    status: FeatureStatus
    statistic: float | None
    p_value: float | None
    adjusted_p_value: float | None
    effect: float | None
    threshold: float
    effect_threshold: float
    drifted: bool
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict (non-finite numbers become None)."""
        return {"feature": self.feature, "kind": self.kind.value, "test": self.test,
                "status": self.status.value, "statistic": _json_float(self.statistic),
                "p_value": _json_float(self.p_value),
                "adjusted_p_value": _json_float(self.adjusted_p_value),
                "effect": _json_float(self.effect), "threshold": self.threshold,
                "effect_threshold": self.effect_threshold, "drifted": self.drifted,
                "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """Every feature's result, with the sizes and the correction used."""

    features: tuple[FeatureResult, ...]
    rows_baseline: int
    rows_current: int
    correction: str
    alpha: float

    @property
    def drifted(self) -> tuple[str, ...]:
        """Names of the features that drifted."""
        return tuple(r.feature for r in self.features if r.drifted)

    @property
    def errors(self) -> tuple[FeatureResult, ...]:
        """Results of the features that could not be compared."""
        return tuple(r for r in self.features if r.status is FeatureStatus.ERROR)

    def result(self, feature: str) -> FeatureResult:
        """Return the result of *feature*; ``KeyError`` naming the known ones if absent."""
        for r in self.features:
            if r.feature == feature:
                return r
        raise KeyError(f"no result for feature {feature!r}; the report has "
                       f"{', '.join(r.feature for r in self.features) or 'none'}")

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"rows_baseline": self.rows_baseline, "rows_current": self.rows_current,
                "correction": self.correction, "alpha": self.alpha,
                "drifted": list(self.drifted), "features": [r.to_dict() for r in self.features]}


@dataclass(frozen=True, slots=True)
class _Plan:
    name: str
    kind: FeatureKind
    test: str
    threshold: float
    effect_threshold: float


def _plan(name: str, base: FeatureProfile, override: FeatureCheck,
          config: CheckConfig) -> _Plan:
    size = base.finite_count if base.kind is FeatureKind.NUMERIC else sum(
        base.categories.values())
    choice = default_test(base.kind, size, preset=config.preset, alpha=config.alpha)
    test = override.test or choice.test
    if override.threshold is not None:
        threshold = override.threshold
    elif test == choice.test:
        threshold = choice.threshold
    else:
        threshold = statistic_threshold(test, config.alpha)
    if override.effect_threshold is not None:
        effect = override.effect_threshold
    elif config.effect_threshold is not None:
        effect = config.effect_threshold
    else:
        effect = choice.effect_threshold if test == choice.test else effect_threshold(test)
    return _Plan(name, base.kind, test, threshold, effect)


def _problem(plan: _Plan, base: FeatureProfile, now: FeatureProfile | None, rows: int,
             test: DriftTest) -> tuple[FeatureStatus, str] | None:
    """Return why this feature cannot be compared, or None."""
    name = plan.name
    if rows == 0:
        return FeatureStatus.SKIPPED, "the window is empty (0 rows); nothing to compare"
    if now is None:
        return FeatureStatus.ERROR, (f"feature {name!r} is in the baseline but not in the "
                                     "window; check the capture's columns and PII drop list")
    if base.kind is FeatureKind.NUMERIC and now.kind is FeatureKind.CATEGORICAL:
        return FeatureStatus.ERROR, (
            f"feature {name!r} is numeric in the baseline but the window has strings "
            f"(e.g. {', '.join(repr(k) for k in list(now.categories)[:3])}); "
            "fix the producer or cast the field")
    if base.kind is FeatureKind.CATEGORICAL and now.kind is FeatureKind.NUMERIC:
        return FeatureStatus.ERROR, (
            f"feature {name!r} is categorical in the baseline but numeric in the window; "
            "profile the window with the baseline's kinds (ProfileBuilder(categorical=...))")
    if now.invalid:
        return FeatureStatus.ERROR, (
            f"feature {name!r}: {now.invalid} of {now.count} values in the window are not "
            f"numbers (e.g. {', '.join(now.invalid_examples)}) but the baseline is numeric; "
            "fix the producer or cast the field")
    for side, profile in (("baseline", base), ("window", now)):
        present = (profile.finite_count if profile.kind is FeatureKind.NUMERIC
                   else sum(profile.categories.values()))
        if present == 0:
            extra = f", {profile.nan} NaN, {profile.inf} inf" if profile.nan or profile.inf else ""
            return FeatureStatus.ERROR, (
                f"feature {name!r} has no values in the {side} ({profile.missing} missing"
                f"{extra}); check the {side}'s source, or disable the feature")
    if plan.kind not in test.kinds:
        return FeatureStatus.ERROR, (
            f"feature {name!r}: test {plan.test!r} does not compare {plan.kind} features; "
            "choose another test for it")
    if (base.kind is FeatureKind.NUMERIC and plan.test in _SPREAD_TESTS
            and not base.std > 0):
        return FeatureStatus.ERROR, (
            f"feature {name!r} is constant in the baseline (every value {base.minimum:g}); "
            f"{plan.test} measures change against the baseline's spread — disable the "
            "feature or give it test: psi (binned)")
    return None


def _result(plan: _Plan, status: FeatureStatus, message: str = "",
            found: TestResult | None = None) -> FeatureResult:
    return FeatureResult(
        feature=plan.name, kind=plan.kind, test=plan.test, status=status,
        statistic=found.statistic if found else None, p_value=found.p_value if found else None,
        adjusted_p_value=None, effect=found.effect if found else None,
        threshold=plan.threshold, effect_threshold=plan.effect_threshold, drifted=False,
        message=message)


def check(baseline: BaselineProfile, current: BaselineProfile,
          config: CheckConfig = CheckConfig()) -> DriftReport:
    """Compare *current* with *baseline*; return every feature's result.

    Parameters
    ----------
    baseline
        The baseline profile (built once, see :class:`~monitor.drift.profile.ProfileBuilder`).
    current
        The window's profile, built with the baseline's kinds forced.
    config
        Overrides, alpha, correction and effect thresholds.

    Returns
    -------
    DriftReport
        One result per baseline feature (plus errors for overrides naming unknown ones).
    """
    tests: dict[str, DriftTest] = {}
    results: list[FeatureResult | None] = []
    jobs: list[tuple[int, _Plan, DriftTest]] = []
    for name, base in baseline.features.items():
        override = config.features.get(name, FeatureCheck())
        plan = _plan(name, base, override, config)
        if not override.enabled:
            results.append(_result(plan, FeatureStatus.SKIPPED, "disabled by configuration"))
            continue
        try:
            test = tests.get(plan.test) or tests.setdefault(plan.test, create_test(plan.test))
        except (LookupError, ValueError) as exc:  # unknown plug-in name, bad options
            results.append(_result(plan, FeatureStatus.ERROR, f"feature {name!r}: {exc}"))
            continue
        problem = _problem(plan, base, current.features.get(name), current.rows, test)
        if problem is not None:
            results.append(_result(plan, *problem))
            continue
        jobs.append((len(results), plan, test))
        results.append(None)

    def run(job: tuple[int, _Plan, DriftTest]) -> FeatureResult:
        _, plan, test = job
        try:
            found = test.compare(baseline.features[plan.name], current.features[plan.name])
        except (ValueError, ArithmeticError, MissingExtraError) as exc:
            return _result(plan, FeatureStatus.ERROR, f"feature {plan.name!r}: {exc}")
        return _result(plan, FeatureStatus.OK, found=found)

    # numpy's sorting and searching release the GIL, so features compare in parallel
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(run, jobs))
    else:
        done = [run(job) for job in jobs]
    for (index, _, _), found in zip(jobs, done, strict=True):
        results[index] = found
    final = [r for r in results if r is not None]
    for name in config.features:
        if name not in baseline.features:
            final.append(FeatureResult(
                feature=name, kind=FeatureKind.NUMERIC, test=config.features[name].test or "",
                status=FeatureStatus.ERROR, statistic=None, p_value=None,
                adjusted_p_value=None, effect=None, threshold=config.alpha,
                effect_threshold=0.0, drifted=False,
                message=f"feature {name!r} is configured but not in the baseline; "
                        f"the baseline has {', '.join(baseline.features) or 'no features'}"))
    return DriftReport(features=tuple(_decide(final, config)), rows_baseline=baseline.rows,
                       rows_current=current.rows, correction=config.correction,
                       alpha=config.alpha)


def _decide(results: list[FeatureResult], config: CheckConfig) -> list[FeatureResult]:
    """Correct the p-values together, then apply thresholds and effect gates."""
    tested = [i for i, r in enumerate(results)
              if r.status is FeatureStatus.OK and r.p_value is not None]
    adjusted = dict(zip(tested, adjust([results[i].p_value or 0.0 for i in tested],
                                       config.correction), strict=True))
    out: list[FeatureResult] = []
    for i, r in enumerate(results):
        if r.status is not FeatureStatus.OK or r.statistic is None:
            out.append(r)
            continue
        effect_ok = r.effect is not None and r.effect >= r.effect_threshold
        if i in adjusted:
            drifted = adjusted[i] < r.threshold and effect_ok
        else:
            drifted = r.statistic >= r.threshold and effect_ok
        out.append(FeatureResult(
            feature=r.feature, kind=r.kind, test=r.test, status=r.status,
            statistic=r.statistic, p_value=r.p_value, adjusted_p_value=adjusted.get(i),
            effect=r.effect, threshold=r.threshold, effect_threshold=r.effect_threshold,
            drifted=drifted, message=r.message))
    return out

