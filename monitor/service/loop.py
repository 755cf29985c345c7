"""One pass of each scheduled step: scrape, evaluate, deliver, remediate, retain."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.alerting import Transition
from monitor.core.model import AlertState, Signal, TargetHealth
from monitor.service.assembly import Watchkeeper
from monitor.slo.evaluator import SLOStatus

__all__ = ["Loop", "LoopReport"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LoopReport:
    """What the last pass of each step saw; read by /metrics and the API."""

    targets: list[TargetHealth] = field(default_factory=list)
    slo_statuses: list[SLOStatus] = field(default_factory=list)
    last_evaluation: datetime | None = None
    evaluations: int = 0
    step_errors: dict[str, int] = field(default_factory=dict)


class Loop:
    """The control loop's steps; each runs alone on its own schedule and never raises."""

    def __init__(self, app: Watchkeeper) -> None:
        self.app = app
        self.report = LoopReport()
        self._locks = {name: threading.Lock() for name in
                       ("scrape", "evaluate", "deliver", "remediate", "retain")}

    def _failed(self, step: str) -> None:
        log.exception("step %s failed; it will run again at its next interval", step)
        self.report.step_errors[step] = self.report.step_errors.get(step, 0) + 1

    def scrape(self) -> list[TargetHealth]:
        """Scrape every due target and store what came back."""
        with self._locks["scrape"]:
            try:
                health = self.app.scraper.scrape_all_sync()
            except Exception:
                self._failed("scrape")
                return []
            if health:
                known = {h.name: h for h in self.report.targets}
                known.update({h.name: h for h in health})
                self.report.targets = sorted(known.values(), key=lambda h: h.name)
            return health

    def evaluate(self, at: datetime | None = None) -> list[Transition]:
        """Evaluate SLOs, advance alerts, queue notifications and remediation."""
        with self._locks["evaluate"]:
            try:
                return self._evaluate(at or self.app.clock.now())
            except Exception:
                self._failed("evaluate")
                return []

    def _evaluate(self, now: datetime) -> list[Transition]:
        self.app.rollups.compact(now)  # complete buckets only; cheap when nothing is new
        evaluation = self.app.slo.evaluate(now)
        rule_signals = self.app.alert_rules.evaluate(now)
        transitions = self.app.state.apply([*evaluation.signals, *rule_signals], now,
                                           evaluated_sources=self._evaluated_sources())
        self.report.slo_statuses = list(evaluation.statuses)
        self.report.last_evaluation = now
        self.report.evaluations += 1
        self._dispatch(transitions, now)
        return transitions

    def ingest(self, signals: Sequence[Signal], at: datetime | None = None) -> list[Transition]:
        """Advance only the alerts *signals* name (alerts from outside, e.g. Alertmanager).

        Unlike the scheduled steps this raises on a store error, so the caller can answer
        with an error and the sender retries.
        """
        with self._locks["evaluate"]:
            now = at or self.app.clock.now()
            transitions = self.app.state.apply(signals, now, evaluated_sources=set())
            self._dispatch(transitions, now)
            return transitions

    def _dispatch(self, transitions: list[Transition], now: datetime) -> None:
        """Queue notifications and remediation for *transitions*."""
        for t in transitions:
            log.info("alert %s %s: %s -> %s", t.alert.name, dict(t.alert.labels),
                     t.from_state, t.to_state)
        if self.app.dispatcher is not None:
            self.app.dispatcher.tick(now)
        else:
            self.app.router.enqueue(transitions)
            self.app.router.unsuppressed(self.app.alerts.all([AlertState.FIRING]), now)
        for t in transitions:
            if t.to_state is AlertState.FIRING:
                self.app.remediation.on_alert(t.alert)

    def _evaluated_sources(self) -> set[str]:
        """Return the sources whose missing signals mean "inactive".

        That is every SLO, every alert rule that evaluated cleanly, and the sources of
        stored alerts whose SLO or rule is gone from the rules folder, so they resolve.
        """
        rules = self.app.rules
        slo_sources = {f"slo/{s.name}" for s in rules.slos}
        current = slo_sources | {r.source for r in rules.alert_rules}
        removed = {a.source for a in self.app.alerts.all([AlertState.FIRING, AlertState.PENDING])
                   if a.source.startswith(("slo/", "rule/")) and a.source not in current}
        return slo_sources | set(self.app.alert_rules.evaluated_sources) | removed

    def deliver(self) -> int:
        """Send due notifications from the outbox; return how many were sent."""
        with self._locks["deliver"]:
            try:
                if self.app.dispatcher is not None:  # groups come due between evaluations
                    with self._locks["evaluate"]:
                        self.app.dispatcher.tick()
                return self.app.delivery.deliver_due().sent
            except Exception:
                self._failed("deliver")
                return 0

    def remediate(self) -> int:
        """Run queued remediation actions; return how many finished."""
        with self._locks["remediate"]:
            try:
                return len(self.app.remediation.work())
            except Exception:
                self._failed("remediate")
                return 0

    def retain(self) -> int:
        """Drop raw samples past the retention period."""
        with self._locks["retain"]:
            try:
                now = self.app.clock.now()
                self.app.silences.delete_expired_before(now - timedelta(days=5))
                return self.app.samples.delete_before(now - self.app.config.sample_retention)
            except Exception:
                self._failed("retain")
                return 0
