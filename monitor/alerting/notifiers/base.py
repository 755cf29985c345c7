"""The notifier plug-in point: ``send(notification) -> Delivery``, and its registry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable

from monitor.core.model import Delivery, Notification
from monitor.core.plugins import Registry

__all__ = ["Notifier", "RecentDeliveries", "notifiers"]


@runtime_checkable
class Notifier(Protocol):
    """Deliver notifications to one receiver; idempotent on ``dedup_key`` where it can be.

    ``send`` returns the receiver's answer, or raises
    :class:`~monitor.core.errors.DeliveryError` with ``retryable`` saying whether the
    outbox should try again. Notifiers never retry by themselves: retries are the
    outbox's job.
    """

    def send(self, notification: Notification) -> Delivery: ...


notifiers: Registry[Notifier] = Registry("watchkeeper.notifiers", Notifier)


class RecentDeliveries:
    """Remember the last deliveries by dedup key, so a repeated send does not repeat a message.

    The outbox is what guarantees one delivery per key; this only covers a worker that
    sent a message but could not record it (the database blinked) and sends it again
    from the same process.
    """

    def __init__(self, size: int = 1024) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self._size = size
        self._items: OrderedDict[str, Delivery] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Delivery | None:
        """Return the delivery made for *key*, if it is still remembered."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, delivery: Delivery) -> None:
        """Remember *delivery* for *key*, forgetting the oldest beyond the size."""
        with self._lock:
            self._items[key] = delivery
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
