"""Notifiers: the ``Notifier`` protocol, its registry and the built-in receivers."""

from __future__ import annotations

from monitor.alerting.notifiers.alertmanager import AlertmanagerNotifier, postable_alert
from monitor.alerting.notifiers.base import Notifier, RecentDeliveries, notifiers
from monitor.alerting.notifiers.blocks import SlackMessage, build_message, render_plain
from monitor.alerting.notifiers.console import ConsoleNotifier
from monitor.alerting.notifiers.grouped import group_subject
from monitor.alerting.notifiers.pagerduty import (
    PagerDutyNotifier,
    event_dedup_key,
    pagerduty_severity,
)
from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.alerting.notifiers.slack import SlackDeliveryError, SlackNotifier
from monitor.alerting.notifiers.slack_webhook import SlackWebhookNotifier
from monitor.alerting.notifiers.webhook import (
    HttpDeliveryError,
    WebhookNotifier,
    webhook_message,
)

__all__ = [
    "AlertmanagerNotifier",
    "ConsoleNotifier",
    "HttpDeliveryError",
    "Notifier",
    "PagerDutyNotifier",
    "RecentDeliveries",
    "RecordingNotifier",
    "SlackDeliveryError",
    "SlackMessage",
    "SlackNotifier",
    "SlackWebhookNotifier",
    "WebhookNotifier",
    "build_message",
    "event_dedup_key",
    "group_subject",
    "notifiers",
    "pagerduty_severity",
    "postable_alert",
    "render_plain",
    "webhook_message",
]
