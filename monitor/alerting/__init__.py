"""Alerting: the alert state machine, routing to receivers, and notification delivery."""

from __future__ import annotations

from monitor.alerting.routing import Route, Router, absolute_links
from monitor.alerting.state import AlertStateMachine, Transition

__all__ = ["AlertStateMachine", "Route", "Router", "Transition", "absolute_links"]
