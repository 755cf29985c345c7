"""The Alertmanager push notifier (API v2 over httpx) against a stand-in answering like it."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting.delivery import DeliveryReport, DeliveryWorker
from monitor.alerting.notifiers import AlertmanagerNotifier, HttpDeliveryError, notifiers
from monitor.alerting.notifiers.alertmanager import postable_alert
from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.outbox import OutboxStatus, OutboxStore, dedup_key
from tests.fakes.alert_groups import grouped, member
from tests.fakes.alertmanager_api import FakeAlertmanagerAPI
from tests.fakes.webhook_sink import Answer

FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)  # Alertmanager's "now"


@pytest.fixture
def am() -> Iterator[FakeAlertmanagerAPI]:
    with FakeAlertmanagerAPI() as fake:
        yield fake


def _notifier(fake: FakeAlertmanagerAPI, *, timeout: float = 5.0) -> AlertmanagerNotifier:
    return AlertmanagerNotifier(name="team-am", url=fake.url, timeout=timeout)


def _note(status: NotificationStatus = FIRING, *, labels: dict[str, str] | None = None,
          ends_at: datetime | None = None) -> Notification:
    return Notification(
        dedup_key=dedup_key("team-am", "f00d", T0, status), receiver="team-am", status=status,
        alert_fingerprint="f00d", alert_name="DriftDetected",
        labels=Labels(labels if labels is not None else {"severity": "warning",
                                                         "model": "fraud"}),
        annotations={"summary": "feature amount drifted (PSI 0.31)",
                     "dashboard_url": "https://grafana.example/d/drift"},
        value=0.31, starts_at=T0,
        ends_at=ends_at or (T0 + timedelta(minutes=10) if status is RESOLVED else None))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_firing_pushes_a_postable_alert_without_an_end(am: FakeAlertmanagerAPI) -> None:
    delivery = _notifier(am).send(_note())
    (request,) = am.requests
    assert (request.method, request.path) == ("POST", "/api/v2/alerts")
    assert request.json() == [{
        "labels": {"alertname": "DriftDetected", "model": "fraud", "severity": "warning"},
        "annotations": {"dashboard_url": "https://grafana.example/d/drift",
                        "summary": "feature amount drifted (PSI 0.31)"},
        "startsAt": _stamp(T0),
        "generatorURL": "https://grafana.example/d/drift",
    }]
    assert delivery.accepted and delivery.detail == f"HTTP 200 from {am.url}/api/v2/alerts"
    (active,) = am.active()  # Alertmanager gave it an end of now + resolve_timeout
    assert active["labels"]["alertname"] == "DriftDetected" and not active["explicitEnd"]


def test_resolution_sets_the_end_and_resolves_the_same_alert(am: FakeAlertmanagerAPI) -> None:
    notifier = _notifier(am)
    notifier.send(_note())
    notifier.send(_note(RESOLVED))
    assert am.requests[1].json()[0]["endsAt"] == _stamp(T0 + timedelta(minutes=10))
    assert len(am.alerts) == 1 and am.active() == [] and am.gettable() == []


def test_a_resolution_without_an_end_ends_now() -> None:
    note = dataclasses.replace(_note(RESOLVED), ends_at=None)
    before = datetime.now(UTC).replace(microsecond=0)
    ends = datetime.fromisoformat(str(postable_alert(note)["endsAt"]).replace("Z", "+00:00"))
    assert before <= ends <= datetime.now(UTC)


def test_empty_labels_are_left_out_and_the_url_may_carry_a_prefix(
        am: FakeAlertmanagerAPI) -> None:
    notifier = AlertmanagerNotifier(name="x", url=am.url + "/api/v2/alerts/")
    notifier.send(_note(labels={"severity": "warning", "team": ""}))
    assert am.requests[0].json()[0]["labels"] == {"alertname": "DriftDetected",
                                                  "severity": "warning"}
    prefixed = AlertmanagerNotifier(name="x", url="https://am.example/alertmanager/")
    assert prefixed.url == "https://am.example/alertmanager/api/v2/alerts"


def test_an_alert_alertmanager_finds_invalid_is_not_retried(am: FakeAlertmanagerAPI) -> None:
    backwards = _note(RESOLVED, ends_at=T0 - timedelta(minutes=1))
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(am).send(backwards)
    assert (info.value.status, info.value.retryable, info.value.reason) == (
        400, False, "start time must be before end time")
    assert str(info.value) == (f"alertmanager receiver 'team-am': POST {am.url}/api/v2/alerts: "
                               "HTTP 400: start time must be before end time")
    with pytest.raises(HttpDeliveryError, match=r"HTTP 400: invalid label set: invalid name "
                                                r"\"bad-name\"$"):
        _notifier(am).send(_note(labels={"bad-name": "x"}))


def test_go_swagger_error_objects_are_read(am: FakeAlertmanagerAPI) -> None:
    am.queue(1, Answer.json(422, {"code": 602, "message": "labels in body is required"}))
    with pytest.raises(HttpDeliveryError, match="HTTP 422: labels in body is required$"):
        _notifier(am).send(_note())
    am.reject_next(message="bad alert")
    with pytest.raises(HttpDeliveryError, match="HTTP 400: bad alert$"):
        _notifier(am).send(_note())


def test_rate_limits_server_errors_timeouts_and_outages_are_retryable(
        am: FakeAlertmanagerAPI) -> None:
    am.rate_limit_next(1, retry_after=4)
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(am).send(_note())
    assert (info.value.status, info.value.retryable, info.value.retry_after) == (429, True, 4.0)
    am.server_error_next(1)
    with pytest.raises(HttpDeliveryError, match="HTTP 500: failed to create alerts: alerts "
                                                "store is closed; will retry") as info:
        _notifier(am).send(_note())
    assert info.value.retryable is True
    am.slow_next(1, seconds=0.6)
    tried = len(am.requests)
    with pytest.raises(HttpDeliveryError, match=r"no answer in time") as info:
        _notifier(am, timeout=0.15).send(_note())
    assert info.value.retryable is True and len(am.requests) == tried + 1
    notifier = _notifier(am)
    am.go_down()
    with pytest.raises(HttpDeliveryError, match="cannot reach the receiver") as info:
        notifier.send(_note())
    assert info.value.retryable is True
    am.come_back()
    assert notifier.send(_note()).accepted


def test_bad_settings_and_the_registry(am: FakeAlertmanagerAPI) -> None:
    with pytest.raises(ValueError, match=r"alertmanager receiver 'x': url 'am:9093/api/v2/alerts'"
                                         r" must be an http\(s\) URL"):
        AlertmanagerNotifier(name="x", url="am:9093")
    with pytest.raises(ValueError, match="name must not be empty"):
        AlertmanagerNotifier(name="", url=am.url)
    built = notifiers.create("alertmanager", name="x", url=am.url)
    assert isinstance(built, AlertmanagerNotifier) and built.send(_note()).accepted
    assert repr(built) == f"AlertmanagerNotifier(name='x', url='{am.url}/api/v2/alerts')"


def test_outbox_pushes_one_alert_through_429_and_500(database: Database,
                                                     am: FakeAlertmanagerAPI) -> None:
    clock = FakeClock(T0)
    worker = DeliveryWorker(outbox=OutboxStore(database), notifiers={"team-am": _notifier(am)},
                            clock=clock, base_delay=timedelta(milliseconds=10),
                            max_delay=timedelta(milliseconds=20), rng=random.Random(5))
    worker.outbox.enqueue(_note(), T0)
    am.rate_limit_next(1, retry_after=2)
    am.server_error_next(1)
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    clock.advance(timedelta(seconds=2))
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due() == DeliveryReport(claimed=1, sent=1)
    clock.advance(timedelta(hours=1))
    assert worker.deliver_due() == DeliveryReport()
    (sent,) = worker.outbox.list()
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 3)
    assert len(am.requests) == 3 and len(am.posted) == 1 and len(am.active()) == 1
    worker.outbox.enqueue(_note(RESOLVED), clock.now())
    assert worker.deliver_due().sent == 1
    assert len(am.posted) == 2 and am.active() == []


def _drift(feature: str, status: NotificationStatus = FIRING) -> Notification:
    return member("DriftDetected", status, receiver="team-am", starts_at=T0, value=0.31,
                  labels={"severity": "warning", "model": "fraud", "feature": feature},
                  annotations={"summary": f"{feature} drifted"})


def test_a_group_pushes_each_of_its_alerts(am: FakeAlertmanagerAPI) -> None:
    group = grouped([_drift("amount"), _drift("country"), _drift("device", RESOLVED)],
                    group_labels={"model": "fraud"}, flush=2)
    delivery = _notifier(am).send(group)
    (request,) = am.requests
    body = request.json()
    assert [a["labels"] for a in body] == [
        {"alertname": "DriftDetected", "feature": f, "model": "fraud", "severity": "warning"}
        for f in ("amount", "country", "device")]
    assert ["endsAt" in a for a in body] == [False, False, True]
    assert body[2]["endsAt"] == _stamp(T0 + timedelta(minutes=10))
    assert body[0]["annotations"] == {"summary": "amount drifted"}
    assert len(am.alerts) == 3
    assert sorted(a["labels"]["feature"] for a in am.active()) == ["amount", "country"]
    assert delivery.accepted and delivery.detail == f"HTTP 200 from {am.url}/api/v2/alerts"


def test_a_group_alert_without_labels_is_left_out(am: FakeAlertmanagerAPI,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    gone = dataclasses.replace(_drift("amount", RESOLVED), alert_name="", labels=Labels())
    group = grouped([_drift("country"), gone], group_labels={"model": "fraud"}, flush=2)
    with caplog.at_level("WARNING", logger="monitor.alerting.notifiers.alertmanager"):
        assert _notifier(am).send(group).accepted
    (request,) = am.requests
    assert [a["labels"]["feature"] for a in request.json()] == ["country"]
    assert "left 1 alert(s) without labels out" in caplog.text
    only_gone = grouped([gone], group_labels={"model": "fraud"}, flush=3)
    assert _notifier(am).send(only_gone).detail == "no alert with labels to push"
    assert len(am.requests) == 1
