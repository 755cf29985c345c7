"""The demo's event feed: what changed in the store since the last look, as readable lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monitor.core.model import AlertState
from monitor.core.time import utcnow
from monitor.service.loop import Loop
from monitor.slo.windows import fmt_window

__all__ = ["DemoEvent", "EventFeed", "Progress"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoEvent:
    """One thing that happened, in the order the demo saw it."""

    at: datetime
    kind: str
    text: str


@dataclass(slots=True)
class Progress:
    """Which steps of the loop have completed."""

    fired: bool = False
    notified: bool = False
    rolled_back: bool = False
    alias_moved: bool = False
    resolved: bool = False
    order: list[str] = field(default_factory=list)

    def mark(self, step: str) -> None:
        """Record that *step* happened (once)."""
        if not getattr(self, step):
            setattr(self, step, True)
            self.order.append(step)

    @property
    def complete(self) -> bool:
        """Return whether the whole loop ran: fired, paged, rolled back, resolved."""
        return all((self.fired, self.notified, self.rolled_back, self.alias_moved,
                    self.resolved))

    def missing(self) -> list[str]:
        """Return the steps that have not happened."""
        return [s for s in ("fired", "notified", "rolled_back", "alias_moved", "resolved")
                if not getattr(self, s)]


class EventFeed:
    """Turn new transitions, deliveries and action runs into events."""

    def __init__(self, loop: Loop, *, model: str) -> None:
        self.loop, self.model = loop, model
        self.progress = Progress()
        self._transitions = 0
        self._sent: set[str] = set()
        self._audit: dict[int, int] = {}
        self._production = ""

    def poll(self) -> list[DemoEvent]:
        """Return the events since the last poll."""
        app, now, out = self.loop.app, utcnow(), []
        transitions = app.alerts.transitions()
        for t in transitions[self._transitions:]:
            severity = ""
            alert = app.alerts.get(t.fingerprint)
            if alert is not None:
                severity = alert.severity
            out.append(DemoEvent(at=t.at, kind="alert", text=(
                f"alert {t.name} ({severity}) {t.from_state} -> {t.to_state}, "
                f"burn rate {t.value:.1f}x")))
            if t.to_state is AlertState.FIRING:
                self.progress.mark("fired")
            if t.to_state is AlertState.RESOLVED:
                self.progress.mark("resolved")
        self._transitions = len(transitions)
        for entry in app.outbox.list(status="sent"):
            if entry.notification.dedup_key in self._sent:
                continue
            self._sent.add(entry.notification.dedup_key)
            n = entry.notification
            out.append(DemoEvent(at=now, kind="notify", text=(
                f"notified {n.receiver}: [{n.status.value.upper()}] {n.alert_name} "
                f"{n.annotations.get('summary', '')}".rstrip())))
            self.progress.mark("notified")
        out.extend(self._actions(now))
        production = app.registry.aliases(self.model).get("production", "")
        if self._production and production != self._production:
            out.append(DemoEvent(at=now, kind="registry", text=(
                f"model {self.model}: production alias moved {self._production} -> "
                f"{production}")))
            self.progress.mark("alias_moved")
        self._production = production
        return out

    def _actions(self, now: datetime) -> list[DemoEvent]:
        out = []
        for run in self.loop.app.runs.list(limit=100):
            events = self.loop.app.runs.audit(run.id)
            seen = self._audit.get(run.id, 0)
            for event in events[seen:]:
                out.append(DemoEvent(at=event.at, kind="action", text=(
                    f"action #{run.id} {run.action} {run.model} ({run.policy}): "
                    f"{event.event}" + (f" - {event.detail.get('reason', '')}"
                                        if event.detail.get("reason") else ""))))
            self._audit[run.id] = len(events)
            if run.action == "rollback" and str(run.state) == "succeeded":
                self.progress.mark("rolled_back")
        return out

    def burn_rates(self) -> list[tuple[str, str, float | None]]:
        """Return ``(slo, window, burn rate)`` from the last evaluation."""
        return [(s.name, fmt_window(w), r) for s in self.loop.report.slo_statuses
                for w, r in s.burn_rates]
