"""The alert state machine: inactive → pending → firing → resolved, persisted per fingerprint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.core.model import Alert, AlertState, Signal
from monitor.store.alerts import AlertStore

__all__ = ["AlertStateMachine", "Transition"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """An alert that changed state at this evaluation."""

    alert: Alert
    from_state: AlertState

    @property
    def to_state(self) -> AlertState:
        """Return the state the alert moved into."""
        return self.alert.state


class AlertStateMachine:
    """Turn signals into alert states; the store is the memory, so restarts are seamless."""

    def __init__(self, *, store: AlertStore) -> None:
        self.store = store

    def apply(self, signals: Iterable[Signal], now: datetime,
              evaluated_sources: Iterable[str] = ()) -> list[Transition]:
        """Advance every alert by one evaluation and return the transitions.

        An alert whose source was evaluated but sent no signal this time (its series is
        gone, or its rule was removed) is treated as inactive, so it resolves instead of
        firing forever.

        A firing alert whose condition cleared keeps firing until its
        ``keep_firing_until`` (its last active evaluation plus the signal's
        ``keep_firing_for``), as Prometheus' ``keep_firing_for`` does. Prometheus starts
        that clock at the first evaluation that no longer sees the condition, this at the
        last one that did, so it resolves up to one evaluation interval sooner; in exchange
        the deadline is one stored instant that needs no rule at hand and survives a restart.
        """
        current = {a.fingerprint: a for a in self.store.all()}
        seen: set[str] = set()
        updates: list[tuple[Alert, AlertState | None]] = []
        transitions: list[Transition] = []
        for signal in signals:
            fingerprint = signal.fingerprint()
            seen.add(fingerprint)
            before = current.get(fingerprint)
            after = _advance(before, signal, fingerprint, now)
            if after is None:
                continue
            previous = before.state if before else AlertState.INACTIVE
            updates.append((after, previous))
            if after.state != previous:
                transitions.append(Transition(alert=after, from_state=previous))
        sources = set(evaluated_sources)
        for fingerprint, alert in current.items():
            if fingerprint in seen or alert.source not in sources:
                continue
            if alert.state in (AlertState.FIRING, AlertState.PENDING):
                gone = _deactivate(alert, now)
                updates.append((gone, alert.state))
                if gone.state != alert.state:
                    transitions.append(Transition(alert=gone, from_state=alert.state))
        self.store.save(updates)
        return transitions


def _advance(before: Alert | None, signal: Signal, fingerprint: str,
             now: datetime) -> Alert | None:
    state = before.state if before else AlertState.INACTIVE
    if not signal.active:
        if before is None:
            return None
        if state in (AlertState.FIRING, AlertState.PENDING):
            return _deactivate(replace(before, value=signal.value), now)
        return None
    labels = signal.labels.merged({"alertname": signal.name})
    annotations: Mapping[str, str] = dict(signal.annotations)
    keep_until = now + signal.keep_firing_for if signal.keep_firing_for > timedelta(0) else None
    if state in (AlertState.INACTIVE, AlertState.RESOLVED) or before is None:
        fired = signal.for_duration.total_seconds() <= 0
        return Alert(fingerprint=fingerprint, name=signal.name, labels=labels,
                     annotations=annotations, value=signal.value,
                     state=AlertState.FIRING if fired else AlertState.PENDING,
                     active_since=now, fired_at=now if fired else None, resolved_at=None,
                     updated_at=now, source=signal.source, keep_firing_until=keep_until)
    if state is AlertState.PENDING:
        assert before.active_since is not None
        fires = now - before.active_since >= signal.for_duration
        return replace(before, labels=labels, annotations=annotations, value=signal.value,
                       updated_at=now, state=AlertState.FIRING if fires else AlertState.PENDING,
                       fired_at=now if fires else None, keep_firing_until=keep_until)
    return replace(before, labels=labels, annotations=annotations, value=signal.value,
                   updated_at=now, keep_firing_until=keep_until)


def _deactivate(alert: Alert, now: datetime) -> Alert:
    """Return *alert* once its condition stopped: resolved, inactive, or still kept firing."""
    if alert.state is AlertState.FIRING:
        if alert.keep_firing_until is not None and now < alert.keep_firing_until:
            return replace(alert, updated_at=now)
        return replace(alert, state=AlertState.RESOLVED, resolved_at=now, updated_at=now,
                       keep_firing_until=None)
    return replace(alert, state=AlertState.INACTIVE, active_since=None, updated_at=now,
                   keep_firing_until=None)
