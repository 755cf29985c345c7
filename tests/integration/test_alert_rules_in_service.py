"""Alert rules run in the service loop beside SLOs; a removed rule's alert resolves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.config import ReceiverConfig, ServiceConfig
from monitor.core.model import AlertState, Labels, Sample
from monitor.core.time import FakeClock
from monitor.service.assembly import Watchkeeper, load_rules
from monitor.service.loop import Loop
from monitor.store import Database, SampleStore

RULE = """\
apiVersion: watchkeeper.dev/v1
kind: AlertRule
metadata: {name: ChurnErrorRateHigh}
spec:
  expr: >-
    sum by (model) (rate(req_total{code="500"}[5m]))
    / sum by (model) (rate(req_total[5m])) > 0.05
  for: 1m
  labels: {severity: ticket}
  annotations:
    summary: '{{ $labels.model }} fails {{ $value | humanizePercentage }} of requests'
    runbook_url: runbooks/slo-burn.md
"""
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def _loop(database: Database, rules_dir: Path,
          clock: FakeClock) -> tuple[Loop, RecordingNotifier]:
    config = ServiceConfig(source="test", rules_dir=rules_dir, database_url=database.url,
                           receivers=(ReceiverConfig(name="pager", type="console"),))
    notifier = RecordingNotifier(name="pager")
    app = Watchkeeper(config, load_rules(config), clock=clock, database=database,
                      extra_notifiers={"pager": notifier})
    return Loop(app), notifier


def test_rule_fires_after_for_and_resolves_when_removed(database: Database,
                                                        tmp_path: Path) -> None:
    store, ok, bad = SampleStore(database), 0.0, 0.0
    for i in range(40):
        ok, bad = ok + 90, bad + 10
        at = T0 + timedelta(seconds=15 * i)
        store.write([Sample(metric="req_total", labels=Labels({"model": "churn", "code": c}),
                            value=v, timestamp=at) for c, v in (("200", ok), ("500", bad))])
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rule.yaml").write_text(RULE)
    clock = FakeClock(T0 + timedelta(minutes=8))
    loop, notifier = _loop(database, rules, clock)
    (pending,) = loop.evaluate()
    assert pending.to_state is AlertState.PENDING
    clock.advance(timedelta(minutes=1, seconds=45))
    (fired,) = loop.evaluate()
    assert fired.to_state is AlertState.FIRING
    assert fired.alert.labels == Labels({"alertname": "ChurnErrorRateHigh", "model": "churn",
                                         "severity": "ticket"})
    assert fired.alert.annotations["summary"] == "churn fails 10% of requests"
    assert loop.deliver() == 1 and len(notifier.sent) == 1

    (rules / "rule.yaml").unlink()  # the rule is deleted; a restarted service resolves it
    restarted, _ = _loop(database, rules, clock)
    (resolved,) = restarted.evaluate()
    assert (resolved.from_state, resolved.to_state) == (AlertState.FIRING, AlertState.RESOLVED)
