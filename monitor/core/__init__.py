"""Core types shared by every engine: samples, signals, alerts, notifications, actions."""

from __future__ import annotations

from monitor.core.errors import (
    ActionError,
    DeliveryError,
    MissingExtraError,
    PluginError,
    StoreError,
    UnknownPluginError,
    WatchkeeperError,
)
from monitor.core.model import (
    ActionResult,
    ActionStatus,
    Alert,
    AlertState,
    Delivery,
    Labels,
    Notification,
    NotificationStatus,
    Sample,
    Severity,
    Signal,
    TargetHealth,
)

__all__ = [
    "ActionError",
    "ActionResult",
    "ActionStatus",
    "Alert",
    "AlertState",
    "Delivery",
    "DeliveryError",
    "Labels",
    "MissingExtraError",
    "Notification",
    "NotificationStatus",
    "PluginError",
    "Sample",
    "Severity",
    "Signal",
    "StoreError",
    "UnknownPluginError",
    "TargetHealth",
    "WatchkeeperError",
]
