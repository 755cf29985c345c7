"""The generic webhook notifier (Alertmanager's webhook JSON over httpx) against a loopback sink."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting.delivery import DeliveryReport, DeliveryWorker
from monitor.alerting.notifiers import HttpDeliveryError, WebhookNotifier, notifiers
from monitor.alerting.notifiers.webhook import (
    parse_retry_after,
    rfc3339,
    safe_url,
    webhook_message,
)
from monitor.config.secrets import Secret
from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.outbox import OutboxStatus, OutboxStore, dedup_key
from tests.fakes.alert_groups import grouped, member
from tests.fakes.webhook_sink import Answer, FakeWebhookSink

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED
TOKEN = "wk-bearer-QZXQ-never-shown"


@pytest.fixture
def sink() -> Iterator[FakeWebhookSink]:
    with FakeWebhookSink(bearer_token=TOKEN) as fake:
        yield fake


def _notifier(sink: FakeWebhookSink, *, token: str | None = TOKEN, timeout: float = 5.0,
              **options: object) -> WebhookNotifier:
    return WebhookNotifier(name="bridge", url=sink.endpoint, timeout=timeout,
                           bearer_token=Secret(token) if token is not None else None,
                           **options)  # type: ignore[arg-type]


def _note(status: NotificationStatus = FIRING, *, fingerprint: str = "f00d",
          labels: dict[str, str] | None = None,
          annotations: dict[str, str] | None = None) -> Notification:
    return Notification(
        dedup_key=dedup_key("bridge", fingerprint, T0, status), receiver="bridge",
        status=status, alert_fingerprint=fingerprint, alert_name="ModelLatencyHigh",
        labels=Labels(labels if labels is not None else {"severity": "ticket", "model": "fraud"}),
        annotations=annotations if annotations is not None else {
            "summary": "p99 over 300ms", "dashboard_url": "https://grafana.example/d/lat"},
        value=0.42, starts_at=T0 + timedelta(microseconds=250000),
        ends_at=T0 + timedelta(minutes=9) if status is RESOLVED else None)


def test_firing_posts_alertmanagers_webhook_json(sink: FakeWebhookSink) -> None:
    delivery = _notifier(sink, external_url="https://watchkeeper.example").send(_note())
    (request,) = sink.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == _note().dedup_key
    assert request.headers["user-agent"].startswith("Watchkeeper/")
    assert request.json() == {
        "version": "4",
        "groupKey": '{}:{alertname="ModelLatencyHigh", model="fraud", severity="ticket"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "bridge",
        "groupLabels": {"alertname": "ModelLatencyHigh", "model": "fraud", "severity": "ticket"},
        "commonLabels": {"alertname": "ModelLatencyHigh", "model": "fraud",
                         "severity": "ticket"},
        "commonAnnotations": {"dashboard_url": "https://grafana.example/d/lat",
                              "summary": "p99 over 300ms"},
        "externalURL": "https://watchkeeper.example",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "ModelLatencyHigh", "model": "fraud", "severity": "ticket"},
            "annotations": {"dashboard_url": "https://grafana.example/d/lat",
                            "summary": "p99 over 300ms"},
            "startsAt": "2026-03-01T12:00:00.25Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example/d/lat",
            "fingerprint": "f00d",
        }],
    }
    assert delivery.accepted and delivery.detail == f"HTTP 200 from {sink.endpoint}"


def test_resolution_carries_its_end_and_status(sink: FakeWebhookSink) -> None:
    _notifier(sink).send(_note(RESOLVED, annotations={"summary": "ok"}))
    message = sink.messages[0]
    assert message["status"] == "resolved"
    (alert,) = message["alerts"]
    assert (alert["status"], alert["endsAt"], alert["generatorURL"]) == (
        "resolved", "2026-03-01T12:09:00Z", "")


def test_a_group_keeps_common_labels_and_counts_what_max_alerts_leaves_out() -> None:
    notes = [_note(fingerprint=f"f{i}", labels={"severity": "ticket", "model": m})
             for i, m in enumerate(["fraud", "churn", "ads"])]
    notes[2] = _note(RESOLVED, fingerprint="f2", labels={"severity": "ticket", "model": "ads"})
    whole = webhook_message(notes, receiver="r")
    assert whole["commonLabels"] == {"alertname": "ModelLatencyHigh", "severity": "ticket"}
    assert whole["groupKey"] == '{}:{alertname="ModelLatencyHigh", severity="ticket"}'
    assert (whole["status"], whole["truncatedAlerts"]) == ("firing", 0)
    cut = webhook_message(notes, receiver="r", max_alerts=1)
    assert cut["truncatedAlerts"] == 2 and len(cut["alerts"]) == 1  # type: ignore[arg-type]
    assert cut["commonLabels"] == {"alertname": "ModelLatencyHigh", "model": "fraud",
                                   "severity": "ticket"}
    assert webhook_message(notes[2:], receiver="r")["status"] == "resolved"
    with pytest.raises(ValueError, match="max_alerts must be >= 0 .*, got -1"):
        webhook_message(notes, receiver="r", max_alerts=-1)
    with pytest.raises(ValueError, match="at least one notification"):
        webhook_message([], receiver="r")


def test_label_values_are_quoted_in_the_group_key_as_prometheus_does() -> None:
    message = webhook_message([_note(labels={"path": 'a"b\\c'})], receiver="r")
    assert message["groupKey"] == '{}:{alertname="ModelLatencyHigh", path="a\\"b\\\\c"}'


@pytest.mark.parametrize(("retry_after", "expected"), [("7", 7.0), (None, None),
                                                       ("soon", None), ("-3", None)])
def test_rate_limit_is_retryable_with_retry_after(sink: FakeWebhookSink, retry_after: str | None,
                                                  expected: float | None) -> None:
    sink.rate_limit_next(1, retry_after=retry_after)
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(sink).send(_note())
    assert (info.value.status, info.value.retryable, info.value.retry_after) == (
        429, True, expected)
    assert str(info.value) == (f"webhook receiver 'bridge': POST {sink.endpoint}: HTTP 429: Too "
                               "Many Requests; will retry")


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:42 GMT", now=now) == 42.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0  # past: now


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_server_errors_are_retryable(sink: FakeWebhookSink, status: int) -> None:
    sink.server_error_next(1, status=status)
    with pytest.raises(HttpDeliveryError, match=f": HTTP {status}: <html><body>Internal Server "
                                                "Error</body></html>; will retry") as info:
        _notifier(sink).send(_note())
    assert (info.value.retryable, info.value.retry_after) == (True, None)


@pytest.mark.parametrize(("status", "ending"), [
    (400, "HTTP 400: bad request"),
    (404, "HTTP 404: gone; check the receiver's url"),
    (413, "HTTP 413: too big; the message is too large for the receiver; shorten the alert's "
          "annotations"),
    (422, "HTTP 422: unprocessable"),
])
def test_client_errors_are_not_retried(sink: FakeWebhookSink, status: int, ending: str) -> None:
    text = {400: "bad request", 404: "gone", 413: "too big", 422: "unprocessable"}[status]
    sink.reject_next(status=status, text=text)
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(sink).send(_note())
    assert info.value.retryable is False and str(info.value).endswith(ending)


def test_a_wrong_token_is_refused_and_not_shown(sink: FakeWebhookSink) -> None:
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(sink, token="wrong-token-ZZQX").send(_note())
    assert str(info.value).endswith("HTTP 401: Unauthorized; check the receiver's credentials")
    assert info.value.retryable is False and "ZZQX" not in str(info.value)
    with pytest.raises(HttpDeliveryError, match="HTTP 401"):
        _notifier(sink, token=None).send(_note())
    assert sink.messages == []


def test_a_redirect_is_a_configuration_error(sink: FakeWebhookSink) -> None:
    sink.queue(1, Answer(status=302, headers={"Location": "https://elsewhere.example/"}))
    with pytest.raises(HttpDeliveryError, match="HTTP 302; the receiver redirects: set its url "
                                                "to the final address") as info:
        _notifier(sink).send(_note())
    assert info.value.retryable is False and len(sink.requests) == 1


def test_a_timeout_and_a_dead_receiver_are_retryable(sink: FakeWebhookSink) -> None:
    sink.slow_next(1, seconds=0.6)
    with pytest.raises(HttpDeliveryError, match=r"no answer in time \(ReadTimeout\); will "
                                                 r"retry") as info:
        _notifier(sink, timeout=0.15).send(_note())
    assert info.value.retryable is True and len(sink.requests) == 1
    notifier = _notifier(sink)
    sink.go_down()
    with pytest.raises(HttpDeliveryError, match=r"cannot reach the receiver \(ConnectError: "
                                                r".*\); will retry") as info:
        notifier.send(_note())
    assert (info.value.status, info.value.retryable) == (0, True)
    sink.come_back()
    assert notifier.send(_note()).accepted


def test_a_repeated_dedup_key_is_posted_once_per_process(sink: FakeWebhookSink) -> None:
    notifier = _notifier(sink)
    assert notifier.send(_note()) == notifier.send(_note())
    assert len(sink.requests) == 1


def test_secrets_never_reach_logs_or_errors(sink: FakeWebhookSink,
                                            caplog: pytest.LogCaptureFixture) -> None:
    errors = []
    with caplog.at_level(logging.DEBUG):
        notifier = _notifier(sink)
        notifier.send(_note())
        for misbehave in (sink.rate_limit_next, sink.server_error_next, sink.reject_next):
            misbehave()
            with pytest.raises(HttpDeliveryError) as info:
                _notifier(sink).send(_note())
            errors.append(str(info.value))
        query = WebhookNotifier(name="q", url=sink.endpoint + "?token=QUERYSECRET")
        with pytest.raises(HttpDeliveryError) as info:
            query.send(_note())
        errors.append(str(info.value))
    assert any(r.name.startswith("httpx") for r in caplog.records)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for text in (*errors, repr(notifier), repr(query)):
        assert TOKEN not in text and "QUERYSECRET" not in text
    assert TOKEN not in logged


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match=r"webhook receiver 'x': url 'ftp://h/in' must be an "
                                         r"http\(s\) URL with a host"):
        WebhookNotifier(name="x", url="ftp://h/in")
    with pytest.raises(ValueError) as info:
        WebhookNotifier(name="x", url="gopher://user:pw@h/in?k=v")
    assert "'gopher://h/in' must be" in str(info.value) and "pw" not in str(info.value)
    with pytest.raises(ValueError, match="timeout must be > 0 seconds, got 0"):
        WebhookNotifier(name="x", url="https://h/in", timeout=0)
    with pytest.raises(ValueError, match="max_alerts must be >= 0 .*, got -2"):
        WebhookNotifier(name="x", url="https://h/in", max_alerts=-2)
    with pytest.raises(ValueError, match="bearer_token is empty"):
        WebhookNotifier(name="x", url="https://h/in", bearer_token=Secret(""))
    assert safe_url("https://user:pw@h:8443/in?token=abc") == "https://h:8443/in"
    assert rfc3339(datetime(2026, 3, 1, 13, 0, tzinfo=UTC)) == "2026-03-01T13:00:00Z"


def test_the_registry_builds_it(sink: FakeWebhookSink) -> None:
    built = notifiers.create("webhook", name="x", url=sink.endpoint,
                             bearer_token=Secret(TOKEN))
    assert isinstance(built, WebhookNotifier) and built.send(_note()).accepted
    assert repr(built) == f"WebhookNotifier(name='x', url='{sink.endpoint}')"


def test_outbox_delivers_one_message_through_429_and_500(database: Database,
                                                         sink: FakeWebhookSink) -> None:
    clock = FakeClock(T0)
    worker = DeliveryWorker(outbox=OutboxStore(database), notifiers={"bridge": _notifier(sink)},
                            clock=clock, base_delay=timedelta(milliseconds=10),
                            max_delay=timedelta(milliseconds=20), rng=random.Random(5))
    worker.outbox.enqueue(_note(), T0)
    sink.rate_limit_next(1, retry_after=2)
    sink.server_error_next(1, status=503)
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    (waiting,) = worker.outbox.list()
    assert waiting.next_attempt_at == T0 + timedelta(seconds=2)
    assert waiting.last_error.endswith("HTTP 429: Too Many Requests; will retry")
    clock.advance(timedelta(seconds=2))
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due() == DeliveryReport(claimed=1, sent=1)
    clock.advance(timedelta(hours=1))
    assert worker.deliver_due() == DeliveryReport()
    (sent,) = worker.outbox.list()
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 3)
    assert len(sink.requests) == 3 and len(sink.messages) == 1


def _latency(model: str, status: NotificationStatus = FIRING, *,
             extra: dict[str, str] | None = None) -> Notification:
    return member("ModelLatencyHigh", status, receiver="bridge", starts_at=T0, value=0.42,
                  labels={"severity": "page", "team": "ml", "model": model},
                  annotations={"summary": f"p99 over 300ms on {model}", **(extra or {})})


def _page_group(*members: Notification, flush: int = 1) -> Notification:
    return grouped(members, group_labels={"team": "ml"}, route='{}/{severity="page"}',
                   flush=flush)


def test_a_grouped_notification_posts_its_group_as_alertmanager_does(
        sink: FakeWebhookSink) -> None:
    runbook = {"runbook_url": "https://runbooks.example/latency.md"}
    group = _page_group(_latency("fraud", extra=runbook), _latency("churn", extra=runbook),
                        _latency("ads", RESOLVED, extra=runbook), flush=2)
    delivery = _notifier(sink).send(group)
    (request,) = sink.requests
    assert request.headers["idempotency-key"] == group.dedup_key
    body = request.json()
    assert body["groupKey"] == '{}/{severity="page"}:{team="ml"}'
    assert body["groupLabels"] == {"team": "ml"}
    assert body["commonLabels"] == {"alertname": "ModelLatencyHigh", "severity": "page",
                                    "team": "ml"}
    assert body["commonAnnotations"] == runbook
    assert (body["status"], body["truncatedAlerts"], body["version"]) == ("firing", 0, "4")
    assert [(a["status"], a["labels"]["model"], a["endsAt"]) for a in body["alerts"]] == [
        ("firing", "fraud", "0001-01-01T00:00:00Z"), ("firing", "churn", "0001-01-01T00:00:00Z"),
        ("resolved", "ads", "2026-03-01T12:10:00Z")]
    assert [a["fingerprint"] for a in body["alerts"]] == [
        m.alert_fingerprint for m in group.alerts]
    assert body["alerts"][0]["annotations"] == {"summary": "p99 over 300ms on fraud", **runbook}
    assert delivery.accepted


def test_a_resolved_group_and_max_alerts_on_a_group() -> None:
    done = _page_group(_latency("fraud", RESOLVED), _latency("churn", RESOLVED), flush=3)
    body = webhook_message(done, receiver="bridge")
    assert body["status"] == "resolved" and len(body["alerts"]) == 2  # type: ignore[arg-type]
    members = [_latency(m) for m in ("fraud", "churn", "ads")]
    cut = webhook_message(_page_group(*members), receiver="bridge", max_alerts=2)
    assert (cut["truncatedAlerts"], len(cut["alerts"])) == (1, 2)  # type: ignore[arg-type]
    assert cut["groupLabels"] == {"team": "ml"}
    assert cut["groupKey"] == '{}/{severity="page"}:{team="ml"}'


def test_a_single_notification_is_posted_as_it_always_was() -> None:
    assert webhook_message(_note(), receiver="r") == webhook_message([_note()], receiver="r")
