"""Notifications written as text to a stream or appended to a file, laid out like Slack."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import TextIO

from monitor.alerting.notifiers.base import RecentDeliveries
from monitor.alerting.notifiers.blocks import build_message, render_plain
from monitor.core.errors import DeliveryError
from monitor.core.model import Delivery, Notification

__all__ = ["ConsoleNotifier"]

log = logging.getLogger(__name__)
_RULE = "─" * 60


class ConsoleNotifier:
    """Write each notification, rendered from its Slack blocks, to a file or a stream.

    With *path* the text is appended to that file (opened per message, so log rotation
    works); otherwise it goes to *stream*, standard output by default.
    """

    def __init__(self, *, name: str, path: str = "", stream: TextIO | None = None) -> None:
        if not name:
            raise ValueError("name must not be empty")
        if path and stream is not None:
            raise ValueError(f"console receiver {name!r}: give a path or a stream, not both")
        self.name, self.path = name, path
        self._stream = stream
        self._lock = threading.Lock()
        self._recent = RecentDeliveries()
        self._written = 0

    def __repr__(self) -> str:
        return f"ConsoleNotifier(name={self.name!r}, path={self.path!r})"

    def send(self, notification: Notification) -> Delivery:
        """Write *notification*; a repeated dedup key is not written again."""
        done = self._recent.get(notification.dedup_key)
        if done is not None:
            return done
        message = build_message(notification)
        text = f"{_RULE}\n{render_plain(message.blocks)}\n"
        with self._lock:
            self._write(text)
            self._written += 1
            delivery = Delivery(accepted=True, external_ref=f"{self.name}:{self._written}",
                                detail=f"written to {self.path or 'the console'}")
        self._recent.put(notification.dedup_key, delivery)
        return delivery

    def _write(self, text: str) -> None:
        if not self.path:
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write(text)
            stream.flush()
            return
        try:
            with Path(self.path).open("a", encoding="utf-8") as handle:
                handle.write(text)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError,
                PermissionError) as exc:
            raise DeliveryError(f"console receiver {self.name!r}: cannot append to "
                                f"{self.path}: {exc.strerror}; fix the receiver's path",
                                retryable=False) from exc
        except OSError as exc:  # disk full and the like may pass
            raise DeliveryError(f"console receiver {self.name!r}: cannot append to "
                                f"{self.path}: {exc.strerror or exc}", retryable=True) from exc
