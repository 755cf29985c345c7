"""A notifier that keeps what it is sent, for tests and dry runs; it can fail on request."""

from __future__ import annotations

import threading

from monitor.core.errors import DeliveryError
from monitor.core.model import Delivery, Notification

__all__ = ["RecordingNotifier"]


class RecordingNotifier:
    """Record notifications instead of sending them.

    ``sent`` holds each accepted notification once (sending a dedup key again returns
    the first delivery, as an idempotent receiver would); ``calls`` holds every call,
    failed and repeated ones included. The first *fail_times* calls raise
    :class:`DeliveryError` with *retryable* and *retry_after*.
    """

    def __init__(self, *, name: str, fail_times: int = 0, retryable: bool = True,
                 retry_after: float | None = None) -> None:
        if fail_times < 0:
            raise ValueError(f"fail_times must be >= 0, got {fail_times}")
        self.name = name
        self.fail_times, self.retryable, self.retry_after = fail_times, retryable, retry_after
        self.sent: list[Notification] = []
        self.calls: list[Notification] = []
        self._deliveries: dict[str, Delivery] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RecordingNotifier(name={self.name!r}, sent={len(self.sent)})"

    def send(self, notification: Notification) -> Delivery:
        """Record *notification*, or fail while failures are still owed."""
        with self._lock:
            self.calls.append(notification)
            if len(self.calls) <= self.fail_times:
                raise DeliveryError(
                    f"recording receiver {self.name!r}: simulated failure {len(self.calls)} "
                    f"of {self.fail_times}", retryable=self.retryable,
                    retry_after=self.retry_after)
            done = self._deliveries.get(notification.dedup_key)
            if done is not None:
                return done
            self.sent.append(notification)
            delivery = Delivery(accepted=True, external_ref=f"{self.name}:{len(self.sent)}",
                                detail="recorded")
            self._deliveries[notification.dedup_key] = delivery
            return delivery
