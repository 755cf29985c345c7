"""Data-quality checks of a current window against its baseline, feature by feature.

Findings, and the SageMaker ``constraint_check_type`` each is reported under in
``constraint_violations.json``:

=====================  ===========================  ===============================================
finding                check type                   when
=====================  ===========================  ===============================================
``missing_column``     ``missing_column_check``     a baseline feature is absent, or has no value
``extra_column``       ``extra_column_check``       a column the baseline does not have
``dtype_change``       ``data_type_check``          logical type or kind changed (int -> float only
                                                    when a current value is not whole), or values
                                                    of a numeric feature that are not numbers
``completeness_drop``  ``completeness_check``       present share below the baseline's minus the
                                                    tolerance, or below a configured minimum
``unseen_categories``  ``categorical_values_check`` values not in the baseline (or the domain)
``out_of_range``       ``baseline_drift_check``     numbers below the baseline min / above its max
``non_finite``         ``data_type_check``          NaN or ±inf where the baseline had none, or a
                                                    share above the baseline's plus the tolerance
=====================  ===========================  ===============================================

Counts come from the current window's exact sorted values (a sketch's CDF when it has none),
so a check costs a couple of binary searches per feature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from monitor.drift.profile import BaselineProfile, FeatureKind, FeatureProfile

__all__ = ["CHECK_TYPES", "Finding", "FindingKind", "QualityConstraints", "QualityReport",
           "quality"]


class FindingKind(StrEnum):
    """What is wrong with a feature."""

    MISSING_COLUMN = "missing_column"
    EXTRA_COLUMN = "extra_column"
    DTYPE_CHANGE = "dtype_change"
    COMPLETENESS_DROP = "completeness_drop"
    UNSEEN_CATEGORIES = "unseen_categories"
    OUT_OF_RANGE = "out_of_range"
    NON_FINITE = "non_finite"


CHECK_TYPES: Mapping[FindingKind, str] = {
    FindingKind.MISSING_COLUMN: "missing_column_check",
    FindingKind.EXTRA_COLUMN: "extra_column_check",
    FindingKind.DTYPE_CHANGE: "data_type_check",
    FindingKind.COMPLETENESS_DROP: "completeness_check",
    FindingKind.UNSEEN_CATEGORIES: "categorical_values_check",
    FindingKind.OUT_OF_RANGE: "baseline_drift_check",
    FindingKind.NON_FINITE: "data_type_check",
}
_EXAMPLES = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityConstraints:
    """Thresholds of the checks; the defaults report any unseen, out-of-range or invalid value.

    ``min_completeness`` holds per-feature minimum present shares (SageMaker's
    ``completeness`` constraint); ``domains`` per-feature allowed values (SageMaker's
    ``string_constraints.domains``), used instead of the baseline's categories.
    """

    completeness_tolerance: float = 0.02
    min_completeness: Mapping[str, float] = field(default_factory=dict)
    unseen_share: float = 0.0
    out_of_range_share: float = 0.0
    non_finite_tolerance: float = 0.02
    invalid_share: float = 0.0
    domains: Mapping[str, frozenset[str]] = field(default_factory=dict)
    check_extra_columns: bool = True

    def __post_init__(self) -> None:
        for name in ("completeness_tolerance", "unseen_share", "out_of_range_share",
                     "non_finite_tolerance", "invalid_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value}")
        for feature, value in self.min_completeness.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"min_completeness[{feature!r}] must be between 0 and 1, "
                                 f"got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem with one feature; ``baseline``/``current`` are the figures compared."""

    feature: str
    kind: FindingKind
    description: str
    count: int = 0
    share: float = 0.0
    baseline: float | str | None = None
    current: float | str | None = None
    examples: tuple[str, ...] = ()

    @property
    def check_type(self) -> str:
        """Return the SageMaker ``constraint_check_type`` of this finding."""
        return CHECK_TYPES[self.kind]

    def to_dict(self) -> dict[str, object]:
        """Return the finding as JSON-ready data."""
        return {"feature": self.feature, "kind": self.kind.value, "check_type": self.check_type,
                "description": self.description, "count": self.count, "share": self.share,
                "baseline": self.baseline, "current": self.current,
                "examples": list(self.examples)}


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityReport:
    """Every finding of one window, in baseline column order then extra columns."""

    findings: tuple[Finding, ...]
    rows_baseline: int
    rows_current: int
    features_checked: int = 0
    message: str = ""

    @property
    def ok(self) -> bool:
        """Return True when nothing was found."""
        return not self.findings

    def for_feature(self, name: str) -> tuple[Finding, ...]:
        """Return the findings of the feature *name*."""
        return tuple(f for f in self.findings if f.feature == name)

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready data."""
        return {"rows_baseline": self.rows_baseline, "rows_current": self.rows_current,
                "features_checked": self.features_checked, "message": self.message,
                "findings": [f.to_dict() for f in self.findings]}

    def to_sagemaker_violations(self) -> dict[str, list[dict[str, str]]]:
        """Return the findings in SageMaker's ``constraint_violations.json`` shape."""
        return {"violations": [{"feature_name": f.feature, "constraint_check_type": f.check_type,
                                "description": f.description} for f in self.findings]}


def quality(baseline: BaselineProfile, current: BaselineProfile, *,
            constraints: QualityConstraints | None = None) -> QualityReport:
    """Check *current* against *baseline*; return every finding.

    An empty current window yields no findings and says so in ``message``: there is
    nothing to judge, which is not the same as a clean window.
    """
    limits = constraints or QualityConstraints()
    if current.rows == 0:
        return QualityReport(findings=(), rows_baseline=baseline.rows, rows_current=0,
                             message="the current window has no rows; nothing was checked")
    findings: list[Finding] = []
    for name, base in baseline.features.items():
        now = current.features.get(name)
        if now is None or now.count == 0:
            if base.count > 0:
                rows = current.rows
                findings.append(Finding(
                    feature=name, kind=FindingKind.MISSING_COLUMN, count=rows, share=1.0,
                    description=(f"{name}: column is missing from the current data"
                                 if now is None else
                                 f"{name}: no value in the {rows} current rows")))
            continue
        findings.extend(_feature(name, base, now, limits))
    if limits.check_extra_columns:
        for name, now in current.features.items():
            if name not in baseline.features and now.count > 0:
                findings.append(Finding(
                    feature=name, kind=FindingKind.EXTRA_COLUMN, count=now.count,
                    description=f"{name}: column is not in the baseline ({now.dtype}, "
                                f"{now.count} values)"))
    return QualityReport(findings=tuple(findings), rows_baseline=baseline.rows,
                         rows_current=current.rows, features_checked=len(baseline.features))


def _feature(name: str, base: FeatureProfile, now: FeatureProfile,
             limits: QualityConstraints) -> list[Finding]:
    if base.count == 0:
        return []  # an all-missing baseline feature has nothing to compare with
    found: list[Finding] = []
    if now.kind is FeatureKind.NUMERIC and now.invalid:
        dtype = _invalid(name, now, limits)  # its dtype reads "string" because of them
    else:
        dtype = _dtype_change(name, base, now)
    if dtype is not None:
        found.append(dtype)
    found.extend(_completeness(name, base, now, limits))
    if base.kind is FeatureKind.CATEGORICAL and now.kind is FeatureKind.CATEGORICAL:
        unseen = _unseen(name, base, now, limits)
        if unseen is not None:
            found.append(unseen)
    if base.kind is FeatureKind.NUMERIC and now.kind is FeatureKind.NUMERIC:
        found.extend(_out_of_range(name, base, now, limits))
        non_finite = _non_finite(name, base, now, limits)
        if non_finite is not None:
            found.append(non_finite)
    return found


def _dtype_change(name: str, base: FeatureProfile, now: FeatureProfile) -> Finding | None:
    if base.kind is not now.kind:
        example = ""
        if now.kind is FeatureKind.CATEGORICAL and now.categories:
            example = f" (e.g. {_top(now.categories, 1)[0]!r})"
        return Finding(feature=name, kind=FindingKind.DTYPE_CHANGE, baseline=base.dtype,
                       current=now.dtype, count=now.count, share=1.0,
                       description=f"{name}: baseline is {base.kind.value} ({base.dtype}) but "
                                   f"current values are {now.kind.value} ({now.dtype}){example}")
    if base.dtype == now.dtype:
        return None
    if base.dtype == "int64" and now.dtype == "float64" and _whole(now):
        return None  # JSON writes 3 as 3.0 at times: whole floats still fit an integer column
    return Finding(feature=name, kind=FindingKind.DTYPE_CHANGE, baseline=base.dtype,
                   current=now.dtype, count=now.count, share=1.0,
                   description=f"{name}: type changed from {base.dtype} to {now.dtype}")


def _invalid(name: str, now: FeatureProfile, limits: QualityConstraints) -> Finding | None:
    """Report values of a numeric feature that are not numbers (``"abc"`` among floats)."""
    share = now.invalid / now.count if now.count else 0.0
    if not now.invalid or share <= limits.invalid_share:
        return None
    examples = tuple(now.invalid_examples)
    return Finding(feature=name, kind=FindingKind.DTYPE_CHANGE, count=now.invalid, share=share,
                   baseline=now.dtype, current="not a number", examples=examples,
                   description=f"{name}: {now.invalid} values ({share:.2%}) are not numbers"
                               + (f", e.g. {', '.join(examples)}" if examples else ""))


def _whole(profile: FeatureProfile) -> bool:
    values = profile.values
    if values is None:
        return False
    return bool(np.all(values == np.floor(values)))


def _completeness(name: str, base: FeatureProfile, now: FeatureProfile,
                  limits: QualityConstraints) -> list[Finding]:
    base_share = base.count / max(base.count + base.missing, 1)
    now_share = now.count / max(now.count + now.missing, 1)
    minimum = limits.min_completeness.get(name)
    reasons = []
    if now_share < base_share - limits.completeness_tolerance:
        reasons.append(f"below the baseline's {base_share:.2%} by more than "
                       f"{limits.completeness_tolerance:.2%}")
    if minimum is not None and now_share < minimum:
        reasons.append(f"below the minimum {minimum:.2%}")
    if not reasons:
        return []
    return [Finding(feature=name, kind=FindingKind.COMPLETENESS_DROP, count=now.missing,
                    share=1.0 - now_share, baseline=base_share, current=now_share,
                    description=f"{name}: {now_share:.2%} of rows have a value "
                                f"({now.missing} missing), " + " and ".join(reasons))]


def _unseen(name: str, base: FeatureProfile, now: FeatureProfile,
            limits: QualityConstraints) -> Finding | None:
    allowed = limits.domains.get(name)
    known = allowed if allowed is not None else base.categories
    unseen = {value: n for value, n in now.categories.items() if value not in known}
    count = sum(unseen.values())
    total = sum(now.categories.values())
    share = count / total if total else 0.0
    if not count or share <= limits.unseen_share:
        return None
    examples = tuple(_top(unseen, _EXAMPLES))
    where = "the domain" if allowed is not None else "the baseline"
    return Finding(feature=name, kind=FindingKind.UNSEEN_CATEGORIES, count=count, share=share,
                   examples=examples,
                   description=f"{name}: {count} values ({share:.2%}) in {len(unseen)} "
                               f"categories not in {where}, e.g. "
                               + ", ".join(repr(e) for e in examples))


def _top(counts: Mapping[str, int], n: int) -> list[str]:
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _out_of_range(name: str, base: FeatureProfile, now: FeatureProfile,
                  limits: QualityConstraints) -> list[Finding]:
    lo, hi = base.minimum, base.maximum
    finite = now.finite_count
    if not (math.isfinite(lo) and math.isfinite(hi)) or finite <= 0:
        return []
    if now.values is not None:
        below = int(np.searchsorted(now.values, lo, side="left"))
        above = int(now.values.size - np.searchsorted(now.values, hi, side="right"))
    else:
        if now.minimum >= lo and now.maximum <= hi:
            return []
        cdf = np.asarray(now.cdf(np.array([np.nextafter(lo, -np.inf), hi])), dtype=np.float64)
        below = round(float(cdf[0]) * finite) if now.minimum < lo else 0
        above = round((1.0 - float(cdf[1])) * finite) if now.maximum > hi else 0
        below, above = max(below, int(now.minimum < lo)), max(above, int(now.maximum > hi))
    count = below + above
    share = count / finite
    if not count or share <= limits.out_of_range_share:
        return []
    parts = []
    if below:
        parts.append(f"{below} below the baseline minimum {lo:g} (lowest {now.minimum:g})")
    if above:
        parts.append(f"{above} above the baseline maximum {hi:g} (highest {now.maximum:g})")
    return [Finding(feature=name, kind=FindingKind.OUT_OF_RANGE, count=count, share=share,
                    baseline=f"[{lo:g}, {hi:g}]", current=f"[{now.minimum:g}, {now.maximum:g}]",
                    description=f"{name}: {count} values ({share:.2%}) outside the baseline "
                                "range: " + "; ".join(parts))]


def _non_finite(name: str, base: FeatureProfile, now: FeatureProfile,
                limits: QualityConstraints) -> Finding | None:
    count = now.nan + now.inf
    if not count:
        return None
    share = count / now.count
    base_share = (base.nan + base.inf) / base.count if base.count else 0.0
    if base_share > 0 and share <= base_share + limits.non_finite_tolerance:
        return None
    return Finding(feature=name, kind=FindingKind.NON_FINITE, count=count, share=share,
                   baseline=base_share, current=share,
                   description=f"{name}: {now.nan} NaN and {now.inf} infinite values "
                               f"({share:.2%} of present values; baseline {base_share:.2%})")
