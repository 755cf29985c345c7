"""Write specs of any format as native ``kind: SLO`` YAML, and dump them for review.

:func:`to_native_yaml` writes one ``watchkeeper.dev/v1`` ``SLO`` document per spec;
reading the output back gives equal specs (their ``origin`` aside). Windows that an
``AlertWindows`` catalogue set are written as that catalogue (one per period), so they
stay catalogue windows; windows an SLO lists itself are written under
``spec.alerting.windows``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import Enum
from typing import Any

import yaml

from monitor.config.documents import API_VERSION
from monitor.core.matchers import Selector
from monitor.slo.catalog import SLOTH_API_VERSION
from monitor.slo.model import (
    SLI,
    AlertingSpec,
    BoolGaugeSLI,
    DriftChecksSLI,
    EventsSLI,
    GroundTruthSLI,
    LatencySLI,
    ProbeSLI,
    PromQLSLI,
    SeverityAlerting,
    SLOSpec,
)
from monitor.slo.windows import BurnRateWindow, default_windows, fmt_window

__all__ = ["dump_specs", "to_native_yaml"]

_SLI_KEYS: dict[type, str] = {EventsSLI: "events", LatencySLI: "latency", ProbeSLI: "probe",
                              BoolGaugeSLI: "bool_gauge", DriftChecksSLI: "drift_checks",
                              GroundTruthSLI: "ground_truth", PromQLSLI: "promql"}
_QUICK_SLOW = ("quick", "slow")


def to_native_yaml(specs: Sequence[SLOSpec]) -> str:
    """Return *specs* as multi-document native YAML (plus any window catalogues)."""
    catalogs = _catalogs(specs)
    docs = [_catalog_doc(period, windows) for period, windows in sorted(catalogs.items())]
    docs += [_slo_doc(spec, spec.window in catalogs) for spec in specs]
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_specs(specs: Sequence[SLOSpec]) -> str:
    """Return a stable, readable JSON dump of *specs* (every field, locations included)."""
    return json.dumps([_plain(spec) for spec in specs], indent=2, sort_keys=False) + "\n"


def _catalogs(specs: Sequence[SLOSpec]) -> dict[timedelta, tuple[BurnRateWindow, ...]]:
    """Return the catalogue windows per period: non-custom windows that are not defaults."""
    found: dict[timedelta, tuple[BurnRateWindow, ...]] = {}
    for spec in specs:
        windows = spec.alerting.windows
        if spec.alerting.custom_windows or windows == _defaults(spec.window):
            continue
        if _catalog_shaped(windows) and found.setdefault(spec.window, windows) == windows:
            continue
        found[spec.window] = ()  # windows that no one catalogue gives: write them out
    return {period: w for period, w in found.items() if w}


def _defaults(period: timedelta) -> tuple[BurnRateWindow, ...]:
    try:
        return default_windows(period)
    except ValueError:
        return ()


def _catalog_shaped(windows: tuple[BurnRateWindow, ...]) -> bool:
    severities = [w.severity.value for w in windows]
    return severities == ["page", "page", "ticket", "ticket"] and not any(
        w.for_duration for w in windows)


def _catalog_doc(period: timedelta, windows: tuple[BurnRateWindow, ...]) -> dict[str, Any]:
    spec: dict[str, Any] = {"sloPeriod": fmt_window(period)}
    for severity, pair in (("page", windows[:2]), ("ticket", windows[2:])):
        spec[severity] = {
            name: {"errorBudgetPercent": _percent(w, period),
                   "shortWindow": fmt_window(w.short_window),
                   "longWindow": fmt_window(w.long_window)}
            for name, w in zip(_QUICK_SLOW, pair, strict=True)}
    return {"apiVersion": SLOTH_API_VERSION, "kind": "AlertWindows", "spec": spec}


def _percent(w: BurnRateWindow, period: timedelta) -> float:
    return round(w.factor * 100 * (w.long_window / period), 10)


def _slo_doc(spec: SLOSpec, catalogued: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": spec.name}
    if spec.metadata_labels:
        metadata["labels"] = dict(spec.metadata_labels)
    body: dict[str, Any] = {"service": spec.service}
    if spec.description:
        body["description"] = spec.description
    body["objective"] = spec.objective
    if spec.calendar is not None:
        body["calendar"] = {"unit": spec.calendar.unit.value,
                            "timezone": spec.calendar.timezone}
    else:
        body["window"] = fmt_window(spec.window)
    if spec.budgeting.value != "Occurrences":
        body["budgeting"] = spec.budgeting.value
        timeslice: dict[str, Any] = {"duration": fmt_window(spec.timeslice or timedelta(0))}
        if spec.timeslice_target is not None:
            timeslice["target"] = spec.timeslice_target
        body["timeslice"] = timeslice
    if spec.source.value != "store":
        body["source"] = spec.source.value
    if spec.group_by:
        body["group_by"] = list(spec.group_by)
    if spec.min_events:
        body["min_events"] = spec.min_events
    if spec.labels:
        body["labels"] = dict(spec.labels)
    body["sli"] = {_SLI_KEYS[type(spec.sli)]: _sli(spec.sli)}
    body["alerting"] = _alerting(spec, catalogued)
    return {"apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": body}


def _sli(sli: SLI) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(sli):
        value = getattr(sli, f.name)
        if value is None or value == "" or (value == f.default and f.name != "threshold"):
            continue
        if isinstance(sli, LatencySLI) and f.name == "threshold_seconds":
            out["threshold"] = f"{value:g}s"
        elif isinstance(value, timedelta):
            out[f.name] = fmt_window(value)
        else:
            out[f.name] = str(value) if isinstance(value, Selector) else value
    return out


def _alerting(spec: SLOSpec, catalogued: bool) -> dict[str, Any]:
    a: AlertingSpec = spec.alerting
    out: dict[str, Any] = {}
    if a.name != AlertingSpec.__dataclass_fields__["name"].default:
        out["name"] = a.name
    if a.labels:
        out["labels"] = dict(a.labels)
    if a.annotations:
        out["annotations"] = dict(a.annotations)
    for key, sev in (("page", a.page), ("ticket", a.ticket)):
        if sev != SeverityAlerting():
            out[key] = _severity(sev)
    if a.custom_windows or not (catalogued or a.windows == _defaults(spec.window)):
        out["windows"] = [_window(w) for w in a.windows]
    for key in ("no_data", "exhaustion"):
        value = getattr(a, key)
        if value != type(value)():
            out[key] = _plain(value)
    if a.dashboard_url:
        out["dashboard_url"] = a.dashboard_url
    return out


def _severity(sev: SeverityAlerting) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if sev.disable:
        out["disable"] = True
    if sev.labels:
        out["labels"] = dict(sev.labels)
    if sev.annotations:
        out["annotations"] = dict(sev.annotations)
    return out


def _window(w: BurnRateWindow) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": w.severity.value, "long": fmt_window(w.long_window),
                           "short": fmt_window(w.short_window), "factor": w.factor}
    if w.for_duration:
        out["for"] = fmt_window(w.for_duration)
    return out


def _plain(value: object) -> Any:
    """Turn model values into JSON-able data: durations and selectors as text."""
    if isinstance(value, Selector):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        if isinstance(value, (*_SLI_KEYS,)):
            out["kind"] = _SLI_KEYS[type(value)]
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            out[f.name] = str(item) if f.name == "where" and item is not None else _plain(item)
        return out
    if isinstance(value, timedelta):
        return fmt_window(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
