"""The Watchkeeper error tree.

::

    WatchkeeperError
     ├── ConfigError / ConfigErrors      (monitor.config.errors; every problem, with file:line:col)
     ├── PluginError
     │    └── UnknownPluginError         no entry point by that name
     ├── MissingExtraError               an optional dependency is not installed
     ├── StoreError                      the database refused or is unreachable
     ├── DeliveryError(retryable)        a notifier could not deliver
     └── ActionError(retryable)          a remediation backend could not act
"""

from __future__ import annotations

from monitor.config.errors import WatchkeeperError

__all__ = [
    "ActionError",
    "DeliveryError",
    "MissingExtraError",
    "PluginError",
    "StoreError",
    "UnknownPluginError",
    "WatchkeeperError",
]


class PluginError(WatchkeeperError):
    """A plugin could not be loaded or does not implement its protocol."""


class UnknownPluginError(PluginError, LookupError):
    """No plugin is registered under the requested name."""


class MissingExtraError(WatchkeeperError, ImportError):
    """An optional dependency needed by a feature is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"the {feature} needs the {extra!r} extra: pip install 'watchkeeper[{extra}]'"
        )


class StoreError(WatchkeeperError):
    """The database refused an operation or could not be reached."""


class DeliveryError(WatchkeeperError):
    """A notifier could not deliver a notification."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class ActionError(WatchkeeperError):
    """A remediation backend could not carry out an action."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
