"""Watchkeeper and a real Alertmanager, both ways.

In: Alertmanager's webhook receiver is Watchkeeper's ``/api/v1/alertmanager/webhook``;
an alert pushed to Alertmanager becomes a firing alert in Watchkeeper, reaches the Slack
stand-in once although Alertmanager sends it again every ``repeat_interval``, makes one
remediation run, and resolves when Alertmanager resolves it. Out: Watchkeeper's own
``alertmanager`` receiver pushes an alert that ``amtool alert query`` then lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from monitor.alerting.route_tree import RouteNode, Routing
from monitor.config import Intervals, ReceiverConfig, ServiceConfig
from monitor.config.secrets import Secret
from monitor.core.matchers import Matcher, MatchOp
from monitor.core.model import AlertState, Labels, Signal
from monitor.demo.processes import free_port
from monitor.remediation.backends.dry_run import DryRunBackend
from monitor.remediation.policy import Action, RemediationPolicy
from monitor.service.api_alertmanager import WEBHOOK_PATH
from monitor.service.assembly import Rules, Watchkeeper
from monitor.service.server import Server
from tests.fakes.slack_api import FakeSlackAPI
from tests.integration.alertmanager import AlertmanagerServer, alertmanager_server

TOKEN = "am-to-watchkeeper-0123456789abcdef"
T = TypeVar("T")

AM_CONFIG = """\
route:
  receiver: nowhere
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
  routes:
    - matchers: ['origin="prometheus"']
      receiver: watchkeeper
receivers:
  - name: nowhere
  - name: watchkeeper
    webhook_configs:
      - url: http://127.0.0.1:{port}{path}
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"""


def _wait(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _prometheus_alert(ends_at: datetime | None = None) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {"alertname": "ModelLatencyHigh", "origin": "prometheus",
                   "severity": "page", "model": "churn"},
        "annotations": {"summary": "churn p99 latency is 840ms", "runbook_url":
                        "runbooks/alert-rule.md"},
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=latency",
    }
    if ends_at is not None:
        alert["endsAt"] = _rfc3339(ends_at)
    return alert


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


def _watchkeeper(tmp_path: Path, port: int, am: AlertmanagerServer, slack: FakeSlackAPI,
                 backend: DryRunBackend) -> Server:
    config = ServiceConfig(
        source="test", database_url=f"sqlite:///{tmp_path / 'watchkeeper.db'}",
        listen_port=port,
        intervals=Intervals(evaluation=timedelta(seconds=1), delivery=timedelta(seconds=1),
                            remediation=timedelta(seconds=1)),
        receivers=(
            ReceiverConfig(name="oncall-slack", type="slack", channel="#alerts",
                           token=Secret(slack.token), base_url=slack.api_url,
                           severities=("page",)),
            ReceiverConfig(name="upstream", type="alertmanager", url=Secret(am.url),
                           severities=("info",))),
        alertmanager_webhook_token=Secret(TOKEN))
    policy = RemediationPolicy(name="scale-on-latency", action=Action.SCALE_UP,
                               backend="dry-run", match={"alertname": "ModelLatencyHigh"})
    app = Watchkeeper(config, Rules(policies=(policy,)), extra_backends={"dry-run": backend})
    return Server(app)


def test_an_alert_through_real_alertmanager_is_routed_once_and_pushed_back(
        tmp_path: Path, slack: FakeSlackAPI) -> None:
    port = free_port()
    config = AM_CONFIG.format(port=port, path=WEBHOOK_PATH, token=TOKEN)
    backend = DryRunBackend()
    with alertmanager_server(tmp_path / "am", config) as am:
        server = _watchkeeper(tmp_path, port, am, slack, backend)
        server.start()
        try:
            _alert_in(server, am, slack, backend)
            _alert_out(server, am)
        finally:
            server.stop()


def _alert_in(server: Server, am: AlertmanagerServer, slack: FakeSlackAPI,
              backend: DryRunBackend) -> None:
    wk = server.app
    am.push([_prometheus_alert()])
    (posted,) = _wait("the page in Slack", lambda: slack.calls_to("chat.postMessage"))
    (alert,) = wk.alerts.all()
    assert (alert.name, alert.state, alert.source) == (
        "ModelLatencyHigh", AlertState.FIRING, "alertmanager/watchkeeper")
    assert alert.labels == Labels({"alertname": "ModelLatencyHigh", "origin": "prometheus",
                                   "severity": "page", "model": "churn"})
    assert "churn p99 latency is 840ms" in str(posted.params)
    # Alertmanager sends the firing group again every repeat_interval (2s); Watchkeeper
    # queues notifications and runs before it answers, so after the third answer all
    # that the repeats could have queued is there to count.
    _wait("three webhook notifications", lambda: am.notifications()[0] >= 3)
    assert am.notifications()[1] == 0  # Watchkeeper accepted every one of them
    assert [e.notification.alert_name for e in wk.outbox.list()] == ["ModelLatencyHigh"]
    (run,) = wk.runs.list()
    assert (run.policy, run.model, run.alert_name) == (
        "scale-on-latency", "churn", "ModelLatencyHigh")
    _wait("the run to succeed", lambda: wk.runs.list()[0].state.value == "succeeded")
    assert len(backend.requests) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1

    am.push([_prometheus_alert(ends_at=datetime.now(UTC))])
    _wait("the resolution in Watchkeeper",
          lambda: wk.alerts.all()[0].state is AlertState.RESOLVED)
    _wait("the resolution in Slack", lambda: slack.calls_to("chat.update"))
    firing = [c for c in slack.calls_to("chat.postMessage") if "thread_ts" not in c.params]
    assert len(firing) == 1 and len(slack.calls_to("chat.update")) == 1
    assert len(wk.runs.list()) == 1


def _alert_out(server: Server, am: AlertmanagerServer) -> None:
    wk = server.app
    signal = Signal(name="WatchkeeperPushed", labels=Labels({"severity": "info",
                                                            "model": "churn"}),
                    annotations={"summary": "pushed by Watchkeeper"}, active=True,
                    source="test/push")
    wk.router.enqueue(wk.state.apply([signal], wk.clock.now()))
    (found,) = _wait("the pushed alert in amtool",
                     lambda: am.query("alertname=WatchkeeperPushed"))
    assert found["labels"] == {"alertname": "WatchkeeperPushed", "severity": "info",
                               "model": "churn"}
    assert found["annotations"]["summary"] == "pushed by Watchkeeper"
    assert found["status"]["state"] == "active"
    assert "WatchkeeperPushed" in am.amtool("alert", "query")
    sent = _wait("the push marked sent", lambda: [
        e.notification.alert_name for e in wk.outbox.list(status="sent")
        if e.receiver == "upstream"])
    assert sent == ["WatchkeeperPushed"]


def _grouping_watchkeeper(tmp_path: Path, port: int, am: AlertmanagerServer,
                          slack: FakeSlackAPI) -> Server:
    """Watchkeeper with an AlertRouting: pages grouped per model to Slack, info pushed."""
    config = ServiceConfig(
        source="test", database_url=f"sqlite:///{tmp_path / 'grouping.db'}",
        listen_port=port,
        intervals=Intervals(evaluation=timedelta(seconds=1), delivery=timedelta(seconds=1),
                            remediation=timedelta(seconds=1)),
        receivers=(
            ReceiverConfig(name="oncall-slack", type="slack", channel="#alerts",
                           token=Secret(slack.token), base_url=slack.api_url),
            ReceiverConfig(name="upstream", type="alertmanager", url=Secret(am.url))),
        alertmanager_webhook_token=Secret(TOKEN))
    info = (Matcher(name="severity", op=MatchOp.EQ, value="info"),)
    routing = Routing(name="routing", route=RouteNode(
        receiver="oncall-slack", group_by=("model",), group_wait=timedelta(seconds=2),
        group_interval=timedelta(seconds=1),
        routes=(RouteNode(receiver="upstream", matchers=info, group_by=("...",),
                          group_wait=timedelta(seconds=1),
                          key='{}/{severity="info"}/0'),)))
    return Server(Watchkeeper(config, Rules(routing=routing)))


def test_alerts_from_alertmanager_are_grouped_into_one_slack_message(
        tmp_path: Path, slack: FakeSlackAPI) -> None:
    """Two alerts of one model, pushed to Alertmanager, reach Slack as one grouped message
    (group_by: [model]); an info alert goes back to Alertmanager through the child route."""
    port = free_port()
    config = AM_CONFIG.format(port=port, path=WEBHOOK_PATH, token=TOKEN)
    with alertmanager_server(tmp_path / "am", config) as am:
        server = _grouping_watchkeeper(tmp_path, port, am, slack)
        server.start()
        try:
            latency = _prometheus_alert()
            errors = {**_prometheus_alert(), "labels": {
                **_prometheus_alert()["labels"], "alertname": "ModelErrorsHigh"}}
            am.push([latency, errors])
            (posted,) = _wait("the grouped page in Slack",
                              lambda: slack.calls_to("chat.postMessage"))
            text = str(posted.params)
            assert "ModelLatencyHigh" in text and "ModelErrorsHigh" in text
            (entry,) = server.app.outbox.list()
            assert entry.receiver == "oncall-slack"
            assert sorted(m.alert_name for m in entry.notification.alerts) == [
                "ModelErrorsHigh", "ModelLatencyHigh"]
            assert entry.notification.group_labels == Labels({"model": "churn"})
            time.sleep(3)  # Alertmanager repeats every 2s; the group has nothing new
            assert len(slack.calls_to("chat.postMessage")) == 1

            signal = Signal(name="WatchkeeperInfo", labels=Labels({"severity": "info",
                                                                  "model": "churn"}),
                            active=True, source="test/push")
            server.app.state.apply([signal], server.app.clock.now())
            (found,) = _wait("the pushed info alert in amtool",
                             lambda: am.query("alertname=WatchkeeperInfo"))
            assert found["labels"]["model"] == "churn"
        finally:
            server.stop()
