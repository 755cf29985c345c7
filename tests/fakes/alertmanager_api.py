"""A loopback stand-in for Alertmanager's API v2 alerts endpoint (``/api/v2/alerts``)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.webhook_sink import Answer, LoopbackAPI, RecordedRequest

__all__ = ["FakeAlertmanagerAPI"]

_LABEL_NAME = re.compile(r"\A[a-zA-Z_][a-zA-Z0-9_]*\Z")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:  # Go sends up to 9 fractional digits; Python reads 6
        head, _, rest = text.partition(".")
        digits = re.match(r"\d+", rest)
        frac = digits.group(0) if digits else ""
        text = f"{head}.{frac[:6].ljust(6, '0')}{rest[len(frac):]}"
    return datetime.fromisoformat(text)


def _fingerprint(labels: Mapping[str, str]) -> str:
    text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class FakeAlertmanagerAPI(LoopbackAPI):
    """Answer like Alertmanager's API v2 (``POST``/``GET /api/v2/alerts``) on 127.0.0.1.

    A POST takes a JSON list of postable alerts and answers ``200`` with an empty body.
    Like Alertmanager it drops labels with empty values, fills a missing ``startsAt``
    with now and a missing ``endsAt`` with now plus *resolve_timeout*, keeps every valid
    alert (merged by label set) even when others in the same request are invalid, and
    answers ``400`` with a JSON *string* naming what is wrong (``"start time must be
    before end time"``). A body that is not a list gets go-swagger's ``400 {"code",
    "message"}``, an alert without labels its ``422``. :attr:`alerts` holds the alerts
    by label fingerprint, :attr:`posted` every alert posted. :meth:`reject_next` queues
    a 400.
    """

    thread_name = "fake-alertmanager"

    def __init__(self, *, resolve_timeout: timedelta = timedelta(minutes=5)) -> None:
        super().__init__()
        self.resolve_timeout = resolve_timeout
        self.alerts: dict[str, dict[str, Any]] = {}
        self.posted: list[dict[str, Any]] = []
        self._state = threading.Lock()

    def reject_next(self, n: int = 1, *, message: str = "start time must be before end time",
                    ) -> None:
        """Answer the next *n* requests with Alertmanager's 400 (a JSON string)."""
        self.queue(n, Answer.json(400, message))

    def server_error(self, status: int) -> Answer:
        """Return Alertmanager's 500: the error as a JSON string."""
        return Answer.json(status, "failed to create alerts: alerts store is closed")

    def answer(self, request: RecordedRequest) -> Answer:
        """Take or list alerts."""
        if request.path == "/-/healthy":
            return Answer.text(200, "OK")
        if request.path != "/api/v2/alerts":
            return Answer.text(404, "404 page not found")
        if request.method == "GET":
            return Answer.json(200, self.gettable())
        if request.method != "POST":
            return Answer.text(405, "method not allowed")
        try:
            body = request.json()
        except ValueError as exc:
            return Answer.json(400, {"code": 400, "message": "parsing alerts body from \"\" "
                                     f"failed, because {exc}"})
        if not isinstance(body, list):
            return Answer.json(400, {"code": 400, "message": "parsing alerts body from \"\" "
                                     "failed, because json: cannot unmarshal object into Go "
                                     "value of type models.PostableAlerts"})
        if any(not isinstance(a, dict) or "labels" not in a for a in body):
            return Answer.json(422, {"code": 602, "message": "labels in body is required"})
        problems = [p for alert in body if (p := self._put(alert))]
        if problems:
            return Answer.json(400, "\n".join(problems))
        return Answer(status=200, content_type="application/json")

    def _put(self, alert: dict[str, Any]) -> str:
        now = datetime.now(UTC)
        labels = {str(k): str(v) for k, v in dict(alert["labels"]).items() if v != ""}
        starts = _parse_time(alert.get("startsAt")) or now
        ends = _parse_time(alert.get("endsAt")) or now + self.resolve_timeout
        if not labels:
            return "at least one label pair required"
        bad = sorted(k for k in labels if not _LABEL_NAME.match(k))
        if bad:
            return f'invalid label set: invalid name "{bad[0]}"'
        if ends < starts:
            return "start time must be before end time"
        with self._state:
            self.posted.append(alert)
            self.alerts[_fingerprint(labels)] = {
                "labels": labels, "annotations": dict(alert.get("annotations") or {}),
                "startsAt": starts, "endsAt": ends,
                "generatorURL": alert.get("generatorURL", ""),
                "explicitEnd": "endsAt" in alert,
            }
        return ""

    def active(self) -> list[dict[str, Any]]:
        """Return the alerts whose ``endsAt`` is still ahead."""
        now = datetime.now(UTC)
        with self._state:
            return [a for a in self.alerts.values() if a["endsAt"] > now]

    def gettable(self) -> list[dict[str, Any]]:
        """Return the alerts as ``GET /api/v2/alerts`` lists them: resolved ones are left out."""
        now = datetime.now(UTC)
        with self._state:
            return [{"labels": a["labels"], "annotations": a["annotations"],
                     "startsAt": a["startsAt"].isoformat(), "endsAt": a["endsAt"].isoformat(),
                     "generatorURL": a["generatorURL"], "fingerprint": fp,
                     "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}
                    for fp, a in self.alerts.items() if a["endsAt"] > now]
