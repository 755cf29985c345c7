"""Alerting: alert rules, the alert state machine, routing to receivers, and delivery."""

from __future__ import annotations

from monitor.alerting.routing import Route, Router, absolute_links
from monitor.alerting.rules import AlertRuleEvaluator, AlertRuleGroup, AlertRuleSpec
from monitor.alerting.state import AlertStateMachine, Transition

__all__ = [
    "AlertRuleEvaluator",
    "AlertRuleGroup",
    "AlertRuleSpec",
    "AlertStateMachine",
    "Route",
    "Router",
    "Transition",
    "absolute_links",
]
