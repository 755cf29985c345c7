"""Notifiers: the ``Notifier`` protocol, its registry and the built-in receivers."""

from __future__ import annotations

from monitor.alerting.notifiers.base import Notifier, RecentDeliveries, notifiers
from monitor.alerting.notifiers.blocks import SlackMessage, build_message, render_plain
from monitor.alerting.notifiers.console import ConsoleNotifier
from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.alerting.notifiers.slack import SlackDeliveryError, SlackNotifier

__all__ = [
    "ConsoleNotifier",
    "Notifier",
    "RecentDeliveries",
    "RecordingNotifier",
    "SlackDeliveryError",
    "SlackMessage",
    "SlackNotifier",
    "build_message",
    "notifiers",
    "render_plain",
]
