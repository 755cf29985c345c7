"""Values that cross module boundaries: samples, signals, alerts, notifications, actions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "ActionResult",
    "ActionStatus",
    "Alert",
    "AlertState",
    "Delivery",
    "Labels",
    "Notification",
    "NotificationStatus",
    "Sample",
    "Severity",
    "Signal",
    "TargetHealth",
]


class Labels(Mapping[str, str]):
    """An immutable, hashable set of label pairs with a stable fingerprint."""

    __slots__ = ("_items",)

    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(sorted((pairs or {}).items()))

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in self._items) + "}"

    def merged(self, extra: Mapping[str, str]) -> Labels:
        """Return these labels with *extra* added (extra wins)."""
        return Labels({**dict(self._items), **extra})

    def without(self, *names: str) -> Labels:
        """Return these labels less *names*."""
        return Labels({k: v for k, v in self._items if k not in names})

    def fingerprint(self) -> str:
        """Return a stable 16-hex-digit hash of the pairs."""
        text = "\xff".join(f"{k}\xfe{v}" for k, v in self._items)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One value of one series at one time."""

    metric: str
    labels: Labels
    value: float
    timestamp: datetime


class Severity(StrEnum):
    """How urgently a human must look: a page wakes someone, a ticket waits for work hours."""

    PAGE = "page"
    TICKET = "ticket"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """An alert-shaped value emitted by an evaluator at one evaluation.

    ``active`` says whether the condition holds now; alerting turns a run of active
    signals longer than ``for_duration`` into a firing alert, and keeps a firing alert
    firing for ``keep_firing_for`` after its last active signal.
    """

    name: str
    labels: Labels
    annotations: Mapping[str, str] = field(default_factory=dict)
    value: float = 0.0
    active: bool = False
    for_duration: timedelta = timedelta(0)
    source: str = ""
    keep_firing_for: timedelta = timedelta(0)

    def fingerprint(self) -> str:
        """Return the fingerprint of the alert this signal drives."""
        return self.labels.merged({"alertname": self.name}).fingerprint()


class AlertState(StrEnum):
    """The alert state machine: inactive → pending → firing → resolved."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """The persisted state of one alert, keyed by fingerprint.

    ``keep_firing_until`` is set while the alert's condition holds, to its last active
    evaluation plus the signal's ``keep_firing_for``; a firing alert whose condition has
    cleared stays firing until then.
    """

    fingerprint: str
    name: str
    labels: Labels
    annotations: Mapping[str, str]
    state: AlertState
    value: float
    active_since: datetime | None
    fired_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime
    source: str = ""
    keep_firing_until: datetime | None = None

    @property
    def severity(self) -> str:
        """Return the ``severity`` label, or an empty string."""
        return self.labels.get("severity", "")


class NotificationStatus(StrEnum):
    """What a notification says about its alert."""

    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """One message for one receiver; ``dedup_key`` makes sending idempotent.

    Without grouping it is about one alert, described by the alert fields. A grouped
    notification (from an ``AlertRouting`` route) carries its group's alerts in
    ``alerts``, each a notification of its own status; the top-level fields then describe
    the group: ``labels`` and ``annotations`` are those common to every alert,
    ``alert_name`` the common ``alertname`` (or the first alert's), ``status`` firing while
    any alert fires. ``thread_key`` names the outbox entry this one follows up (the
    group's first message), whose receiver reference becomes ``previous_ref`` at delivery.
    ``may_have_been_sent`` is set by the delivery worker when an earlier try may have
    reached the receiver (it timed out, or its worker died before recording the outcome),
    so a notifier whose receiver cannot deduplicate looks before it sends again.
    """

    dedup_key: str
    receiver: str
    status: NotificationStatus
    alert_fingerprint: str
    alert_name: str
    labels: Labels
    annotations: Mapping[str, str]
    value: float
    starts_at: datetime
    ends_at: datetime | None = None
    previous_ref: str = ""
    group_key: str = ""
    group_labels: Labels = field(default_factory=lambda: Labels())
    alerts: tuple[Notification, ...] = ()
    thread_key: str = ""
    may_have_been_sent: bool = False

    @property
    def severity(self) -> str:
        """Return the alert's ``severity`` label, or an empty string."""
        return self.labels.get("severity", "")

    def members(self) -> tuple[Notification, ...]:
        """Return the alerts this notification is about: its group's, or itself alone."""
        return self.alerts or (self,)

    def counts(self) -> tuple[int, int]:
        """Return how many of :meth:`members` fire and how many are resolved."""
        firing = sum(1 for m in self.members() if m.status is NotificationStatus.FIRING)
        return firing, len(self.members()) - firing


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """A receiver's answer: accepted, with the receiver's reference to what it made."""

    accepted: bool
    external_ref: str = ""
    detail: str = ""


class ActionStatus(StrEnum):
    """How a backend's attempt ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResult:
    """What a remediation backend did."""

    status: ActionStatus
    detail: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def succeeded(cls, detail: str, **outputs: str) -> ActionResult:
        """Return a success with outputs."""
        return cls(status=ActionStatus.SUCCEEDED, detail=detail, outputs=outputs)

    @classmethod
    def failed(cls, detail: str) -> ActionResult:
        """Return a failure."""
        return cls(status=ActionStatus.FAILED, detail=detail)

    @classmethod
    def unsupported(cls, reason: str) -> ActionResult:
        """Return "this backend cannot do that"."""
        return cls(status=ActionStatus.UNSUPPORTED, detail=reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetHealth:
    """The outcome of the last scrape of one target; ``error`` says why it is down."""

    name: str
    url: str
    up: bool
    last_scrape: datetime
    duration_seconds: float
    samples_scraped: int = 0
    error: str = ""
