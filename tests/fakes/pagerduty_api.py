"""A loopback stand-in for PagerDuty's Events API v2 (https://events.pagerduty.com/v2/enqueue)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes.webhook_sink import Answer, LoopbackAPI, RecordedRequest

__all__ = ["DEFAULT_ROUTING_KEY", "FakePagerDutyEvents", "Incident"]

DEFAULT_ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"  # the example key of PagerDuty's docs
_INVALID = {"status": "invalid event", "message": "Event object is invalid"}
_ACTIONS = ("trigger", "acknowledge", "resolve")
_SEVERITIES = ("critical", "error", "warning", "info")


@dataclass(slots=True)
class Incident:
    """The state PagerDuty keeps per ``dedup_key``: open until resolved, and its events."""

    dedup_key: str
    status: str
    summary: str
    events: list[dict[str, Any]]


class FakePagerDutyEvents(LoopbackAPI):
    """Answer like PagerDuty's Events API v2 on 127.0.0.1, in a thread.

    ``POST /v2/enqueue`` takes an event (``routing_key``, ``event_action``, ``dedup_key``,
    ``payload``…) and answers ``202 {"status": "success", "message": "Event processed",
    "dedup_key": …}``; an invalid one gets ``400 {"status": "invalid event", "message":
    "Event object is invalid", "errors": [...]}`` (the checks follow PagerDuty's
    documented rules; the wording of ``errors`` is close to, not exactly, PagerDuty's).
    A trigger with the ``dedup_key`` of an open incident joins it, as PagerDuty's
    deduplication does; :attr:`incidents` holds them, :attr:`events` every accepted
    event. Besides the base switches, :meth:`reject_next` queues a 400.
    """

    thread_name = "fake-pagerduty"

    def __init__(self, *, routing_keys: Iterable[str] = (DEFAULT_ROUTING_KEY,)) -> None:
        super().__init__()
        self.routing_keys = frozenset(routing_keys)
        self.events: list[dict[str, Any]] = []
        self.incidents: dict[str, Incident] = {}
        self._state = threading.Lock()

    @property
    def routing_key(self) -> str:
        """Return a routing key this fake accepts."""
        return sorted(self.routing_keys)[0]

    def reject_next(self, n: int = 1, *, errors: Iterable[str] = ("Event object is invalid",),
                    ) -> None:
        """Answer the next *n* events with PagerDuty's 400 ``invalid event``."""
        self.queue(n, Answer.json(400, {**_INVALID, "errors": list(errors)}))

    def rate_limited(self, headers: Mapping[str, str]) -> Answer:
        """Return PagerDuty's 429 (its body, ``Retry-After`` when given)."""
        return Answer.json(429, {"status": "throttle event", "message": "Requests for this "
                                 "service are arriving too quickly.  Please retry later."},
                           **headers)

    def answer(self, request: RecordedRequest) -> Answer:
        """Take one event."""
        if request.path != "/v2/enqueue":
            return Answer.json(404, {"status": "not found", "message": "Not Found"})
        if request.method != "POST":
            return Answer.text(405, "Method Not Allowed")
        try:
            event = request.json()
        except ValueError:
            return Answer.json(400, {**_INVALID, "errors": ["Event is not valid JSON"]})
        if not isinstance(event, dict):
            return Answer.json(400, {**_INVALID, "errors": ["Event must be a JSON object"]})
        errors = _problems(event, self.routing_keys)
        if errors:
            return Answer.json(400, {**_INVALID, "errors": errors})
        key = str(event.get("dedup_key") or uuid.uuid4().hex)
        self._apply(key, event)
        return Answer.json(202, {"status": "success", "message": "Event processed",
                                 "dedup_key": key})

    def _apply(self, key: str, event: dict[str, Any]) -> None:
        action = event["event_action"]
        with self._state:
            self.events.append(event)
            incident = self.incidents.get(key)
            if action == "trigger":
                if incident is None or incident.status == "resolved":
                    self.incidents[key] = Incident(dedup_key=key, status="triggered",
                                                   summary=event["payload"]["summary"],
                                                   events=[event])
                else:
                    incident.events.append(event)
            elif incident is not None and incident.status != "resolved":
                incident.status = "acknowledged" if action == "acknowledge" else "resolved"
                incident.events.append(event)

    def open_incidents(self) -> list[Incident]:
        """Return the incidents not resolved."""
        with self._state:
            return [i for i in self.incidents.values() if i.status != "resolved"]


def _problems(event: Mapping[str, Any], routing_keys: frozenset[str]) -> list[str]:
    errors: list[str] = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    elif key not in routing_keys:
        errors.append("Invalid routing key")
    action = event.get("event_action")
    if action not in _ACTIONS:
        errors.append("'event_action' is missing or invalid (must be one of: "
                      + ", ".join(_ACTIONS) + ")")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required for " + str(action))
    if action == "trigger":
        errors.extend(_payload_problems(event.get("payload")))
    links = event.get("links", [])
    if not isinstance(links, list) or any(not isinstance(link, dict) or "href" not in link
                                          for link in links):
        errors.append("'links' must be a list of objects with an 'href'")
    return errors


def _payload_problems(payload: object) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is too long (at most 1024 characters)")
    if not isinstance(payload.get("source"), str) or not payload["source"].strip():
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in _SEVERITIES:
        errors.append("'payload.severity' is missing or invalid (must be one of: "
                      + ", ".join(_SEVERITIES) + ")")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict | list | str):
        errors.append("'payload.custom_details' must be an object")
    return errors
