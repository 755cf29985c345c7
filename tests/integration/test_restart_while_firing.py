"""A restart while an alert fires neither re-notifies nor forgets it (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.config import ReceiverConfig, ServiceConfig, load_file
from monitor.config.errors import ConfigError
from monitor.core.matchers import parse_selector
from monitor.core.model import AlertState, Labels, Sample
from monitor.core.time import FakeClock
from monitor.service.assembly import Rules, Watchkeeper
from monitor.service.loop import Loop
from monitor.slo.spec import from_document
from monitor.store import Database

SLO = """\
apiVersion: watchkeeper.dev/v1
kind: SLO
metadata: {name: api}
spec:
  service: api
  objective: 99
  window: 30d
  labels: {model: churn}
  sli:
    events:
      bad: 'req_total{code="500"}'
      total: 'req_total'
  alerting:
    name: ApiBurn
    windows:
      - {severity: page, long: 10m, short: 1m, factor: 10}
"""
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _service(database: Database, tmp_path: Path,
             clock: FakeClock) -> tuple[Loop, RecordingNotifier]:
    path = tmp_path / "slo.yaml"
    path.write_text(SLO)
    errors: list[ConfigError] = []
    (doc,) = load_file(path, "slo.yaml", errors)
    spec = from_document(doc, errors)
    assert spec is not None and not errors
    config = ServiceConfig(source="test", database_url=database.url,
                           receivers=(ReceiverConfig(name="pager", type="console"),))
    notifier = RecordingNotifier(name="pager")
    app = Watchkeeper(config, Rules(slos=(spec,)), clock=clock,
                      extra_notifiers={"pager": notifier}, database=database)
    return Loop(app), notifier


def _traffic(database: Database, start: datetime, minutes: int, error_share: float) -> None:
    from monitor.store import SampleStore

    store, ok, bad = SampleStore(database), 0.0, 0.0
    for i in range(minutes * 4):
        ok += 100 * (1 - error_share)
        bad += 100 * error_share
        at = start + timedelta(seconds=15 * i)
        store.write([
            Sample(metric="req_total", labels=Labels({"code": "200"}), value=ok, timestamp=at),
            Sample(metric="req_total", labels=Labels({"code": "500"}), value=bad, timestamp=at),
        ])


def test_restart_during_firing_alert(database: Database, tmp_path: Path) -> None:
    clock = FakeClock(T0 + timedelta(minutes=10))
    _traffic(database, T0, 10, error_share=0.5)
    loop, first = _service(database, tmp_path, clock)
    (fired,) = loop.evaluate()
    assert fired.to_state is AlertState.FIRING
    assert loop.deliver() == 1 and len(first.sent) == 1

    clock.advance(timedelta(seconds=15))
    restarted, second = _service(database, tmp_path, clock)  # a new process
    assert restarted.evaluate() == []
    assert restarted.deliver() == 0 and second.sent == []
    (alert,) = restarted.app.alerts.all()
    assert alert.state is AlertState.FIRING and alert.fired_at == T0 + timedelta(minutes=10)
    assert [e.status for e in restarted.app.outbox.list()] == ["sent"]
    assert restarted.app.samples.latest(parse_selector("req_total"), clock.now()) != []
