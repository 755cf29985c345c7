"""Watchkeeper's own ``/metrics``: scrape health, SLO budgets and burn rates, alerts, actions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.core.model import AlertState
from monitor.service.loop import Loop
from monitor.slo.windows import fmt_window

__all__ = ["LoopCollector", "build_registry"]


class LoopCollector(Collector):
    """Read the loop's latest report and the store at scrape time."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop

    def collect(self) -> Iterable[Metric]:
        """Yield every metric family."""
        yield from self._targets()
        yield from self._slos()
        yield from self._alerts()
        yield from self._actions()
        yield from self._delivery()
        report = self.loop.report
        evaluations = CounterMetricFamily("watchkeeper_evaluations",
                                          "SLO and alert evaluations completed")
        evaluations.add_metric([], report.evaluations)
        yield evaluations
        errors = CounterMetricFamily("watchkeeper_step_errors",
                                     "Loop steps that raised, by step", labels=["step"])
        for step, count in sorted(report.step_errors.items()):
            errors.add_metric([step], count)
        yield errors

    def _targets(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("watchkeeper_target_up",
                               "1 if the last scrape of the target succeeded", labels=["target"])
        duration = GaugeMetricFamily("watchkeeper_scrape_duration_seconds",
                                     "Duration of the last scrape", labels=["target"])
        scraped = GaugeMetricFamily("watchkeeper_scrape_samples_scraped",
                                    "Samples in the last scrape", labels=["target"])
        down = GaugeMetricFamily("watchkeeper_target_down_info",
                                 "Why a target is down (1 per down target)",
                                 labels=["target", "reason"])
        for h in self.loop.report.targets:
            up.add_metric([h.name], 1.0 if h.up else 0.0)
            duration.add_metric([h.name], h.duration_seconds)
            scraped.add_metric([h.name], h.samples_scraped)
            if not h.up:
                down.add_metric([h.name, h.error], 1.0)
        yield from (up, duration, scraped, down)

    def _slos(self) -> Iterable[Metric]:
        labels = ["slo", "service", "group"]
        remaining = GaugeMetricFamily("watchkeeper_slo_error_budget_remaining_ratio",
                                      "Share of the error budget left over the SLO window",
                                      labels=labels)
        objective = GaugeMetricFamily("watchkeeper_slo_objective_ratio", "SLO objective",
                                      labels=labels)
        sli = GaugeMetricFamily("watchkeeper_slo_sli_ratio",
                                "Good events over total events in the SLO window",
                                labels=labels)
        burn = GaugeMetricFamily("watchkeeper_slo_burn_rate",
                                 "Error-budget burn rate over a window",
                                 labels=[*labels, "window"])
        events = GaugeMetricFamily("watchkeeper_slo_events",
                                   "Events in the SLO window, all and bad",
                                   labels=[*labels, "kind"])
        exhaustion = GaugeMetricFamily(
            "watchkeeper_slo_time_to_exhaustion_seconds",
            "Forecast time until the error budget is spent at the current burn rate",
            labels=labels)
        state = GaugeMetricFamily("watchkeeper_slo_state", "1 for the SLO's current state",
                                  labels=[*labels, "state"])
        for s in self.loop.report.slo_statuses:
            key = [s.name, s.service, ",".join(f"{k}={v}" for k, v in s.group.items())]
            objective.add_metric(key, s.objective / 100)
            state.add_metric([*key, str(s.state)], 1.0)
            if s.error_budget_remaining is not None:
                remaining.add_metric(key, s.error_budget_remaining)
            if s.sli_ratio is not None:
                sli.add_metric(key, s.sli_ratio)
            if s.events is not None:
                events.add_metric([*key, "total"], s.events.total)
                events.add_metric([*key, "bad"], s.events.bad)
            if s.time_to_exhaustion is not None:
                exhaustion.add_metric(key, s.time_to_exhaustion.total_seconds())
            for window, rate in s.burn_rates:
                if rate is not None:
                    burn.add_metric([*key, fmt_window(window)], rate)
        yield from (remaining, objective, sli, burn, events, exhaustion, state)

    def _alerts(self) -> Iterable[Metric]:
        states = GaugeMetricFamily("watchkeeper_alerts", "Alerts by state",
                                   labels=["alertname", "severity", "state"])
        counts = Counter((a.name, a.severity, a.state.value)
                         for a in self.loop.app.alerts.all([AlertState.PENDING,
                                                             AlertState.FIRING]))
        for (name, severity, state), n in sorted(counts.items()):
            states.add_metric([name, severity, state], n)
        yield states

    def _actions(self) -> Iterable[Metric]:
        runs = GaugeMetricFamily("watchkeeper_action_runs",
                                 "Remediation action runs by action and state",
                                 labels=["action", "state"])
        counts = Counter((r.action, str(r.state)) for r in self.loop.app.runs.list(limit=10000))
        for (action, state), n in sorted(counts.items()):
            runs.add_metric([action, state], n)
        yield runs

    def _delivery(self) -> Iterable[Metric]:
        outbox = GaugeMetricFamily("watchkeeper_outbox_entries",
                                   "Notifications in the outbox by status", labels=["status"])
        for status, n in sorted(self.loop.app.outbox.counts().items()):
            outbox.add_metric([status], n)
        yield outbox
        delivery = self.loop.app.delivery
        attempts = CounterMetricFamily("watchkeeper_notifications",
                                       "Delivery attempts by receiver and outcome since start",
                                       labels=["receiver", "outcome"])
        for receiver, stats in sorted(delivery.stats.items()):
            for outcome in ("sent", "retried", "failed"):
                attempts.add_metric([receiver, outcome], getattr(stats, outcome))
        yield attempts
        failing = GaugeMetricFamily("watchkeeper_notifier_failures_in_a_row",
                                    "Failed delivery tries since the receiver last accepted one",
                                    labels=["receiver"])
        for receiver, health in sorted(delivery.health.items()):
            failing.add_metric([receiver], health.failures_in_a_row)
        yield failing
        silenced = CounterMetricFamily("watchkeeper_notifications_silenced",
                                       "Notifications held back by a silence since start")
        silenced.add_metric([], self.loop.app.router.suppressed_total)
        yield silenced
        dispatcher = self.loop.app.dispatcher
        if dispatcher is not None:
            last = dispatcher.last
            groups = GaugeMetricFamily("watchkeeper_alert_groups",
                                       "Aggregation groups holding firing alerts (AlertRouting)")
            groups.add_metric([], last.groups)
            yield groups
            muted = GaugeMetricFamily("watchkeeper_alerts_muted",
                                      "Firing alerts left out of notifications, by reason",
                                      labels=["reason"])
            muted.add_metric(["silenced"], last.silenced)
            muted.add_metric(["inhibited"], last.inhibited)
            yield muted


def build_registry(loop: Loop) -> CollectorRegistry:
    """Return a registry holding only Watchkeeper's own metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LoopCollector(loop))
    return registry
