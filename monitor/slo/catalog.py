"""Sloth ``AlertWindows`` catalogues: burn-rate windows for every SLO of one period.

A catalogue names, for one SLO period, the page and ticket tiers (quick and slow) as a
share of the error budget spent within a long window::

    apiVersion: sloth.slok.dev/v1
    kind: AlertWindows
    spec:
      sloPeriod: 7d
      page:
        quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}
        slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}
      ticket:
        quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}
        slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}

Each tier's factor is ``errorBudgetPercent / 100 × period / longWindow`` (8% of 7d in
1h is 13.44). The catalogue replaces the default windows of every SLO with that period
that does not list its own (``custom_windows`` is False). Sloth's older plain form
(``version: alertWindows/v1`` with the same keys at the top) is read too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from monitor.config.documents import SLOTH_WINDOWS_KIND, SLOTH_WINDOWS_VERSION, Document
from monitor.config.errors import ConfigError, SourceLocation
from monitor.config.schema import Fields
from monitor.core.model import Severity
from monitor.slo.model import SLOSpec
from monitor.slo.windows import BurnRateWindow, fmt_window

__all__ = ["SLOTH_API_VERSION", "WindowCatalog", "apply_catalogs", "is_catalog", "read_catalog"]

SLOTH_API_VERSION = "sloth.slok.dev/v1"
_SPEC = {"sloPeriod", "page", "ticket"}
_TIERS = {"quick", "slow"}
_WINDOW = {"errorBudgetPercent", "shortWindow", "longWindow"}


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowCatalog:
    """The burn-rate tiers for SLOs of one period, as read from an ``AlertWindows`` file."""

    period: timedelta
    windows: tuple[BurnRateWindow, ...]
    where: SourceLocation | None = dataclasses.field(default=None, compare=False)


def is_catalog(doc: Document) -> bool:
    """Return whether *doc* is a Sloth ``AlertWindows`` catalogue (either form)."""
    return doc.kind == SLOTH_WINDOWS_KIND and doc.api_version in (SLOTH_API_VERSION,
                                                                  SLOTH_WINDOWS_VERSION)


def read_catalog(doc: Document, errors: list[ConfigError]) -> WindowCatalog | None:
    """Check one catalogue; return it, or ``None`` after adding its problems to *errors*."""
    before = len(errors)
    plain = doc.api_version == SLOTH_WINDOWS_VERSION
    f = Fields(doc.spec, path="" if plain else "spec", context=SLOTH_WINDOWS_KIND, errors=errors,
               allowed=_SPEC | {"version"} if plain else _SPEC, where=doc.where)
    period = f.duration("sloPeriod", required=True)
    windows: list[BurnRateWindow] = []
    for key, severity in (("page", Severity.PAGE), ("ticket", Severity.TICKET)):
        tiers = f.sub(key, _TIERS, required=True)
        for tier in ("quick", "slow"):
            w = tiers.sub(tier, _WINDOW, required=f.has(key))
            window = _window(w, severity, period) if tiers.has(tier) else None
            if window is not None:
                windows.append(window)
    if len(errors) > before:
        return None
    return WindowCatalog(period=period, windows=tuple(windows), where=doc.where)


def _window(w: Fields, severity: Severity, period: timedelta) -> BurnRateWindow | None:
    before = len(w.errors)
    percent = w.float("errorBudgetPercent", required=True)
    short = w.duration("shortWindow", required=True)
    long = w.duration("longWindow", required=True)
    if w.has("errorBudgetPercent") and len(w.errors) == before:
        w.check("errorBudgetPercent", 0 < percent <= 100,
                f"errorBudgetPercent {percent:g} is out of range",
                "use the share of the budget (0 < percent <= 100) this tier may spend, e.g. 2")
    if short and long:
        w.check("shortWindow", short < long, f"shortWindow {fmt_window(short)} must be "
                f"shorter than longWindow {fmt_window(long)}", "e.g. shortWindow: 5m, "
                "longWindow: 1h")
    if long and period:
        w.check("longWindow", long <= period, f"longWindow {fmt_window(long)} is longer than "
                f"sloPeriod {fmt_window(period)}", "use a window inside the SLO period")
    if len(w.errors) > before or not (short and long and period):
        return None
    factor = Fraction(str(percent)) / 100 * _us(period) / _us(long)
    return BurnRateWindow(severity=severity, long_window=long, short_window=short,
                          factor=float(factor))


def apply_catalogs(specs: Sequence[SLOSpec], catalogs: Sequence[WindowCatalog],
                   errors: list[ConfigError]) -> list[SLOSpec]:
    """Give each SLO without its own windows the catalogue windows of its period.

    Two catalogues for one period are a problem reported at the second; the first wins.
    """
    by_period: dict[timedelta, WindowCatalog] = {}
    for catalog in catalogs:
        first = by_period.get(catalog.period)
        if first is not None:
            errors.append(ConfigError(
                catalog.where or SourceLocation(""), "sloPeriod",
                f"a second AlertWindows catalogue for sloPeriod {fmt_window(catalog.period)} "
                f"(first defined at {first.where})", "keep one catalogue per SLO period"))
            continue
        by_period[catalog.period] = catalog
    out = []
    for spec in specs:
        found = by_period.get(spec.window)
        if found is None or spec.alerting.custom_windows:
            out.append(spec)
            continue
        alerting = dataclasses.replace(spec.alerting, windows=found.windows)
        out.append(dataclasses.replace(spec, alerting=alerting))
    return out


def _us(value: timedelta) -> int:
    return value // timedelta(microseconds=1)
