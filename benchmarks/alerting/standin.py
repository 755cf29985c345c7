"""The stand-in receiver: one loopback webhook endpoint that both sides post to.

Watchkeeper's webhook notifier posts to ``/watchkeeper`` and Alertmanager's
``webhook_configs`` to ``/alertmanager`` on the same server, so both are measured to the
same door. Each POST is timed (``time.monotonic()``) as soon as its body has been read,
answered ``200`` at once, then decoded; every firing alert in it is counted under its
``(alertname, model)`` labels, the first arrival of each kept.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

__all__ = ["AlertKey", "SideRecord", "StandIn", "StandInTimeoutError"]

AlertKey = tuple[str, str]
"""An alert as the stand-in tells them apart: ``(alertname, model)``."""


class StandInTimeoutError(RuntimeError):
    """Alerts did not all arrive at the stand-in in time."""


@dataclass(slots=True)
class SideRecord:
    """What one side (a URL path) delivered: bodies, alerts, first arrival per alert."""

    bodies: int = 0
    alerts: int = 0  # firing alerts in all bodies, repeats included
    first: dict[AlertKey, float] = field(default_factory=dict)
    last_body_at: float = 0.0
    bad: list[str] = field(default_factory=list)  # bodies that were not webhook JSON


class StandIn:
    """A threaded HTTP/1.1 server on 127.0.0.1 that records Alertmanager-style webhooks."""

    def __init__(self) -> None:
        self._sides: dict[str, SideRecord] = {}
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Listen on a free loopback port, serving from a thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name="bench-stand-in", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def url(self, side: str) -> str:
        """Return the URL that *side* posts to."""
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/{side}"

    def reset(self, side: str) -> None:
        """Forget what *side* delivered so far."""
        with self._changed:
            self._sides[side] = SideRecord()

    def arrived(self, side: str) -> int:
        """Return how many distinct alerts reached *side* so far."""
        with self._changed:
            found = self._sides.get(side)
            return len(found.first) if found is not None else 0

    def record(self, side: str) -> SideRecord:
        """Return a copy of what *side* delivered so far."""
        with self._changed:
            found = self._sides.get(side, SideRecord())
            return SideRecord(bodies=found.bodies, alerts=found.alerts, first=dict(found.first),
                              last_body_at=found.last_body_at, bad=list(found.bad))

    def wait_for(self, side: str, keys: Iterable[AlertKey], timeout: float) -> float:
        """Wait until every alert of *keys* arrived at *side*; return the last first arrival.

        Raises :class:`StandInTimeoutError`, saying how many arrived, after *timeout* s.
        """
        wanted = set(keys)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                record = self._sides.setdefault(side, SideRecord())
                missing = [k for k in wanted if k not in record.first]
                if not missing:
                    return max(record.first[k] for k in wanted)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StandInTimeoutError(
                        f"stand-in /{side}: {len(wanted) - len(missing)} of {len(wanted)} "
                        f"alerts arrived within {timeout:.0f}s, e.g. missing "
                        f"{sorted(missing)[0]}; bad bodies: {record.bad[:1]}")
                self._changed.wait(min(left, 1.0))

    def _take(self, side: str, at: float, body: bytes) -> None:
        keys: list[AlertKey] = []
        problem = ""
        try:
            message = json.loads(body)
            for alert in message["alerts"]:
                if alert.get("status") == "firing":
                    labels = alert["labels"]
                    keys.append((str(labels["alertname"]), str(labels.get("model", ""))))
        except (ValueError, KeyError, TypeError) as exc:
            problem = f"{type(exc).__name__}: {exc}: {body[:120]!r}"
        with self._changed:
            record = self._sides.setdefault(side, SideRecord())
            record.bodies += 1
            record.alerts += len(keys)
            record.last_body_at = at
            if problem:
                record.bad.append(problem)
            for key in keys:
                record.first.setdefault(key, at)
            self._changed.notify_all()


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers answer

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            arrived = time.monotonic()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.wfile.flush()
            standin._take(self.path.strip("/").split("?")[0], arrived, body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the benchmark's output to its table."""

    return Handler
