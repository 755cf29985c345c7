"""SLOs: the native spec, error-budget and burn-rate maths, SLI sources and the evaluator."""

from __future__ import annotations

from monitor.slo.budget import (
    EventCounts,
    budget_consumed,
    budget_remaining,
    burn_rate,
    error_ratio,
    sli_ratio,
)
from monitor.slo.evaluator import SLOEvaluation, SLOEvaluator, SLOStatus, TierStatus
from monitor.slo.sli import SLISource, StoreSLISource
from monitor.slo.spec import (
    DEFAULT_ALERT_NAME,
    DEFAULT_RUNBOOK_URL,
    SLO_KIND,
    AlertingSpec,
    EventsSLI,
    SeverityAlerting,
    SLOSpec,
    from_document,
)
from monitor.slo.windows import SLO_SEVERITIES, BurnRateWindow, default_windows, fmt_window

__all__ = [
    "DEFAULT_ALERT_NAME",
    "DEFAULT_RUNBOOK_URL",
    "SLO_KIND",
    "SLO_SEVERITIES",
    "AlertingSpec",
    "BurnRateWindow",
    "EventCounts",
    "EventsSLI",
    "SLISource",
    "SLOEvaluation",
    "SLOEvaluator",
    "SLOSpec",
    "SLOStatus",
    "SeverityAlerting",
    "StoreSLISource",
    "TierStatus",
    "budget_consumed",
    "budget_remaining",
    "burn_rate",
    "default_windows",
    "error_ratio",
    "fmt_window",
    "from_document",
    "sli_ratio",
]
