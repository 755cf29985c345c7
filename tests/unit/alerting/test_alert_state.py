"""The alert state machine on both databases: for-durations, resolution, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.alerting import AlertStateMachine
from monitor.core.model import AlertState, Labels, Signal
from monitor.store import Database
from monitor.store.alerts import AlertStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _signal(active: bool, *, for_seconds: float = 0, value: float = 20.0) -> Signal:
    return Signal(name="Burn", labels=Labels({"slo": "a", "severity": "page"}),
                  annotations={"summary": "burning"}, value=value, active=active,
                  for_duration=timedelta(seconds=for_seconds), source="slo/a")


def test_pending_then_firing_then_resolved(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    states = []
    for i, active in enumerate([True, True, True, False, False]):
        now = T0 + timedelta(seconds=30 * i)
        for t in machine.apply([_signal(active, for_seconds=60)], now):
            states.append((i, t.from_state.value, t.to_state.value))
    assert states == [(0, "inactive", "pending"), (2, "pending", "firing"),
                      (3, "firing", "resolved")]
    (alert,) = AlertStore(database).all()
    assert alert.state is AlertState.RESOLVED
    assert alert.fired_at == T0 + timedelta(seconds=60)
    assert alert.resolved_at == T0 + timedelta(seconds=90)
    assert alert.labels["alertname"] == "Burn"
    recorded = [(t.from_state.value, t.to_state.value)
                for t in AlertStore(database).transitions()]
    assert recorded == [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")]


def test_pending_that_clears_goes_back_to_inactive(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    machine.apply([_signal(True, for_seconds=300)], T0)
    (t,) = machine.apply([_signal(False, for_seconds=300)], T0 + timedelta(seconds=10))
    assert (t.from_state, t.to_state) == (AlertState.PENDING, AlertState.INACTIVE)


def test_restart_while_firing_keeps_state_and_makes_no_transition(database: Database) -> None:
    first = AlertStateMachine(store=AlertStore(database))
    (fired,) = first.apply([_signal(True)], T0)
    assert fired.to_state is AlertState.FIRING
    restarted = AlertStateMachine(store=AlertStore(database))  # a new process, same database
    assert restarted.apply([_signal(True, value=30.0)], T0 + timedelta(seconds=15)) == []
    (alert,) = AlertStore(database).all()
    assert (alert.state, alert.fired_at, alert.value) == (AlertState.FIRING, T0, 30.0)


def test_alert_of_removed_rule_resolves(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    machine.apply([_signal(True)], T0)
    (t,) = machine.apply([], T0 + timedelta(seconds=15), evaluated_sources={"slo/a"})
    assert t.to_state is AlertState.RESOLVED
    assert machine.apply([], T0 + timedelta(seconds=30), evaluated_sources={"slo/a"}) == []


def test_inactive_signal_without_history_stores_nothing(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    assert machine.apply([_signal(False)], T0) == []
    assert AlertStore(database).all() == []


def _kept(active: bool, *, keep_minutes: float = 10, for_seconds: float = 0) -> Signal:
    return Signal(name="Latency", labels=Labels({"model": "churn"}), value=2.5, active=active,
                  for_duration=timedelta(seconds=for_seconds),
                  keep_firing_for=timedelta(minutes=keep_minutes), source="rule/Latency")


def test_keep_firing_for_survives_a_restart_then_resolves(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    sources = {"rule/Latency"}
    (fired,) = machine.apply([_kept(True)], T0, sources)
    assert fired.to_state is AlertState.FIRING
    assert fired.alert.keep_firing_until == T0 + timedelta(minutes=10)
    # The series is gone: the alert keeps firing, with no transition.
    assert machine.apply([], T0 + timedelta(minutes=1), sources) == []
    restarted = AlertStateMachine(store=AlertStore(database))  # a new process, same database
    assert restarted.apply([], T0 + timedelta(minutes=9, seconds=59), sources) == []
    (alert,) = AlertStore(database).all()
    assert (alert.state, alert.keep_firing_until) == (AlertState.FIRING,
                                                      T0 + timedelta(minutes=10))
    (resolved,) = restarted.apply([], T0 + timedelta(minutes=10), sources)
    assert (resolved.from_state, resolved.to_state) == (AlertState.FIRING, AlertState.RESOLVED)
    assert resolved.alert.resolved_at == T0 + timedelta(minutes=10)
    assert resolved.alert.keep_firing_until is None
    recorded = [(t.from_state.value, t.to_state.value)
                for t in AlertStore(database).transitions()]
    assert recorded == [("inactive", "firing"), ("firing", "resolved")]


def test_condition_returning_while_kept_extends_the_deadline(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    machine.apply([_kept(True)], T0)
    assert machine.apply([_kept(False)], T0 + timedelta(minutes=5)) == []
    assert machine.apply([_kept(True)], T0 + timedelta(minutes=6)) == []
    assert machine.apply([_kept(False)], T0 + timedelta(minutes=12)) == []
    (alert,) = AlertStore(database).all()
    assert (alert.state, alert.fired_at, alert.keep_firing_until) == (
        AlertState.FIRING, T0, T0 + timedelta(minutes=16))
    (t,) = machine.apply([_kept(False)], T0 + timedelta(minutes=16))
    assert t.to_state is AlertState.RESOLVED


def test_keep_firing_for_does_not_hold_a_pending_alert(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    (pending,) = machine.apply([_kept(True, for_seconds=300)], T0)
    assert pending.to_state is AlertState.PENDING
    (t,) = machine.apply([], T0 + timedelta(seconds=30), {"rule/Latency"})
    assert (t.from_state, t.to_state) == (AlertState.PENDING, AlertState.INACTIVE)


def test_without_keep_firing_for_a_gone_series_resolves_at_once(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    (fired,) = machine.apply([_kept(True, keep_minutes=0)], T0)
    assert fired.alert.keep_firing_until is None
    (t,) = machine.apply([], T0 + timedelta(seconds=15), {"rule/Latency"})
    assert t.to_state is AlertState.RESOLVED


def test_a_resolved_alert_that_fires_again_gets_a_fresh_deadline(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    machine.apply([_kept(True, keep_minutes=1)], T0)
    machine.apply([], T0 + timedelta(minutes=2), {"rule/Latency"})
    (again,) = machine.apply([_kept(True, keep_minutes=1)], T0 + timedelta(minutes=3))
    assert (again.from_state, again.to_state) == (AlertState.RESOLVED, AlertState.FIRING)
    assert again.alert.keep_firing_until == T0 + timedelta(minutes=4)
