"""The PagerDuty notifier (python-pagerduty's Events API v2 client) against a loopback stand-in."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerting.delivery import DeliveryReport, DeliveryWorker
from monitor.alerting.notifiers import HttpDeliveryError, PagerDutyNotifier, notifiers
from monitor.alerting.notifiers.pagerduty import event_dedup_key
from monitor.config.secrets import Secret
from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.outbox import OutboxStatus, OutboxStore, dedup_key
from tests.fakes.alert_groups import GroupPipeline, grouped, member, parse_routing
from tests.fakes.pagerduty_api import FakePagerDutyEvents

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED
KEY = "watchkeeper/f00d/1772366400"  # fingerprint / T0 in Unix seconds
ROUTING_KEY = "R0UT1NG-KEY-FOR-WATCHKEEPER-QZXQ"  # 32 characters; no hex run to meet by chance


@pytest.fixture
def pd() -> Iterator[FakePagerDutyEvents]:
    with FakePagerDutyEvents(routing_keys=[ROUTING_KEY]) as fake:
        yield fake


def _notifier(fake: FakePagerDutyEvents, *, routing_key: str | None = None,
              timeout: float = 5.0) -> PagerDutyNotifier:
    return PagerDutyNotifier(name="oncall", routing_key=Secret(routing_key or fake.routing_key),
                             url=fake.url, timeout=timeout)


def _note(status: NotificationStatus = FIRING, *, labels: dict[str, str] | None = None,
          annotations: dict[str, str] | None = None) -> Notification:
    return Notification(
        dedup_key=dedup_key("oncall", "f00d", T0, status), receiver="oncall", status=status,
        alert_fingerprint="f00d", alert_name="FraudModelErrorBudgetBurn",
        labels=Labels(labels if labels is not None else
                      {"severity": "page", "model": "fraud", "service": "checkout"}),
        annotations=annotations if annotations is not None else {
            "summary": "fraud availability SLO burning 14.4x", "burn_rate_1h": "14.4",
            "runbook_url": "https://runbooks.example/slo-burn.md",
            "dashboard_url": "https://grafana.example/d/fraud"},
        value=14.4, starts_at=T0, ends_at=T0 + timedelta(minutes=20) if status is RESOLVED
        else None)


def test_trigger_sends_the_event_pagerduty_documents(pd: FakePagerDutyEvents) -> None:
    delivery = _notifier(pd).send(_note())
    (request,) = pd.requests
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "routing_key": pd.routing_key,
        "event_action": "trigger",
        "dedup_key": KEY,
        "client": "Watchkeeper",
        "payload": {
            "summary": "fraud availability SLO burning 14.4x",
            "source": "watchkeeper",
            "severity": "critical",
            "timestamp": "2026-03-01T12:00:00Z",
            "component": "fraud",
            "group": "checkout",
            "class": "FraudModelErrorBudgetBurn",
            "custom_details": {
                "labels": {"alertname": "FraudModelErrorBudgetBurn", "model": "fraud",
                           "service": "checkout", "severity": "page"},
                "annotations": {"burn_rate_1h": "14.4",
                                "dashboard_url": "https://grafana.example/d/fraud",
                                "runbook_url": "https://runbooks.example/slo-burn.md",
                                "summary": "fraud availability SLO burning 14.4x"},
                "value": 14.4,
                "fingerprint": "f00d",
            },
        },
        "links": [{"href": "https://runbooks.example/slo-burn.md", "text": "Runbook"},
                  {"href": "https://grafana.example/d/fraud", "text": "Dashboard"}],
    }
    assert (delivery.accepted, delivery.external_ref) == (True, KEY)
    assert [i.status for i in pd.incidents.values()] == ["triggered"]


def test_trigger_then_resolve_share_one_dedup_key(pd: FakePagerDutyEvents) -> None:
    notifier = _notifier(pd)
    fired, resolved = notifier.send(_note()), notifier.send(_note(RESOLVED))
    assert fired.external_ref == resolved.external_ref == KEY
    assert pd.requests[1].json() == {"routing_key": pd.routing_key, "event_action": "resolve",
                                     "dedup_key": KEY}
    assert list(pd.incidents) == [KEY] and pd.incidents[KEY].status == "resolved"
    assert event_dedup_key(_note()) == event_dedup_key(_note(RESOLVED))


@pytest.mark.parametrize(("severity", "expected"), [
    ("page", "critical"), ("ticket", "warning"), ("warning", "warning"), ("info", "info"),
    ("", "error"), ("sev1", "error")])
def test_severity_maps_to_pagerduty_levels(pd: FakePagerDutyEvents, severity: str,
                                           expected: str) -> None:
    _notifier(pd).send(_note(labels={"severity": severity} if severity else {}))
    assert pd.requests[0].json()["payload"]["severity"] == expected


def test_optional_fields_fall_back_or_are_left_out(pd: FakePagerDutyEvents) -> None:
    long = "x" * 2000
    _notifier(pd).send(_note(labels={"service": "checkout"},
                             annotations={"description": long, "runbook_url": "runbooks/a.md"}))
    event = pd.requests[0].json()
    assert event["payload"]["summary"] == "FraudModelErrorBudgetBurn"  # no summary annotation
    assert (event["payload"]["component"], event["payload"]["group"]) == ("checkout", "checkout")
    assert "links" not in event  # a relative runbook path is no link
    _notifier(pd).send(_note(labels={}, annotations={"summary": long}))
    clipped = pd.requests[1].json()["payload"]
    assert len(clipped["summary"]) == 1024 and clipped["summary"].endswith("…")
    assert "component" not in clipped and "group" not in clipped
    assert len(pd.events) == 2  # PagerDuty accepted both


def test_rate_limit_is_retryable_with_retry_after_and_not_retried_by_the_client(
        pd: FakePagerDutyEvents) -> None:
    pd.rate_limit_next(1, retry_after=7)
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(pd).send(_note())
    error = info.value
    assert (error.status, error.retryable, error.retry_after) == (429, True, 7.0)
    assert str(error) == (f"pagerduty receiver 'oncall': trigger {KEY} to {pd.url}/v2/enqueue: "
                          "HTTP 429: Requests for this service are arriving too quickly. Please "
                          "retry later; will retry")
    assert len(pd.requests) == 1  # the client's own endless 429 retries are off


def test_rate_limit_without_retry_after_leaves_the_wait_to_the_backoff(
        pd: FakePagerDutyEvents) -> None:
    pd.rate_limit_next(1, retry_after=None)
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(pd).send(_note())
    assert (info.value.retryable, info.value.retry_after) == (True, None)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable_and_tried_once(pd: FakePagerDutyEvents,
                                                    status: int) -> None:
    pd.server_error_next(1, status=status)
    with pytest.raises(HttpDeliveryError, match=f"HTTP {status}: .*; will retry") as info:
        _notifier(pd).send(_note())
    assert (info.value.status, info.value.retryable) == (status, True)
    assert len(pd.requests) == 1 and pd.events == []


def test_an_invalid_event_is_not_retried_and_names_pagerdutys_errors(
        pd: FakePagerDutyEvents) -> None:
    pd.reject_next(errors=["'payload.summary' is missing or blank",
                           "'payload.source' is missing or blank"])
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(pd).send(_note())
    assert (info.value.status, info.value.retryable, info.value.retry_after) == (400, False, None)
    assert str(info.value) == (
        f"pagerduty receiver 'oncall': trigger {KEY} to {pd.url}/v2/enqueue: HTTP 400: Event "
        "object is invalid: 'payload.summary' is missing or blank; 'payload.source' is missing "
        "or blank; PagerDuty refused the event as it is; fix what it names")


def test_a_bad_routing_key_is_not_retried_and_not_shown(pd: FakePagerDutyEvents) -> None:
    with pytest.raises(HttpDeliveryError) as info:
        _notifier(pd, routing_key="R0UTINGKEY-too-short").send(_note())
    message = str(info.value)
    assert info.value.retryable is False
    assert message.endswith("HTTP 400: Event object is invalid: Length of 'routing_key' is "
                            "incorrect (should be 32 characters); check routing_key: the "
                            "integration key of an Events API v2 integration")
    assert "R0UTINGKEY" not in message and "too-short" not in message


def test_a_timeout_is_retryable_and_the_retry_joins_the_same_incident(
        pd: FakePagerDutyEvents) -> None:
    pd.slow_next(1, seconds=0.6)
    with pytest.raises(HttpDeliveryError, match=r"no answer in time \(ReadTimeout\); will "
                                                 r"retry") as info:
        _notifier(pd, timeout=0.15).send(_note())
    assert len(pd.requests) == 1  # one try, no retry by the client
    assert (info.value.status, info.value.retryable) == (0, True)
    _notifier(pd).send(_note())  # what the outbox does next
    deadline = time.monotonic() + 5
    while len(pd.events) < 2 and time.monotonic() < deadline:  # the slow one lands late
        time.sleep(0.02)
    assert [e["event_action"] for e in pd.events] == ["trigger", "trigger"]
    assert len(pd.incidents) == 1  # both carried KEY: PagerDuty made one incident


def test_an_unreachable_pagerduty_is_retryable_and_tried_once(pd: FakePagerDutyEvents) -> None:
    notifier = _notifier(pd)
    pd.go_down()
    started = time.monotonic()
    with pytest.raises(HttpDeliveryError, match=r"cannot reach PagerDuty \(ConnectError\); "
                                                 r"will retry") as info:
        notifier.send(_note())
    assert info.value.retryable is True
    assert time.monotonic() - started < 2.5  # the client's own retry would sleep 3 s first
    pd.come_back()
    assert notifier.send(_note()).accepted and len(pd.incidents) == 1


def test_a_repeated_dedup_key_is_sent_once_per_process(pd: FakePagerDutyEvents) -> None:
    notifier = _notifier(pd)
    assert notifier.send(_note()) == notifier.send(_note())
    assert len(pd.requests) == 1


def test_the_routing_key_never_reaches_logs_or_errors(
        pd: FakePagerDutyEvents, caplog: pytest.LogCaptureFixture) -> None:
    errors = []
    with caplog.at_level(logging.DEBUG):
        notifier = _notifier(pd)
        notifier.send(_note())
        for misbehave in (pd.rate_limit_next, pd.server_error_next, pd.reject_next):
            misbehave()
            with pytest.raises(HttpDeliveryError) as info:
                _notifier(pd).send(_note())
            errors.append(str(info.value))
        pd.go_down()
        with pytest.raises(HttpDeliveryError) as info:
            _notifier(pd).send(_note())
        errors.append(str(info.value))
    assert any(r.name.startswith("httpx2") for r in caplog.records)  # the client did log
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for text in (logged, *errors, repr(notifier)):
        assert pd.routing_key not in text and pd.routing_key[-4:] not in text


def test_bad_settings_are_refused_and_urls_are_read(pd: FakePagerDutyEvents) -> None:
    key = Secret(pd.routing_key)
    with pytest.raises(ValueError, match="pagerduty receiver 'x': routing_key must be a "
                                         "non-empty Secret"):
        PagerDutyNotifier(name="x", routing_key=Secret(""))
    with pytest.raises(ValueError, match=r"url 'http://pd.example/' must be an https:// URL "
                                         r"\(plain http only on a loopback address\)"):
        PagerDutyNotifier(name="x", routing_key=key, url="http://pd.example/")
    with pytest.raises(ValueError, match="timeout must be > 0 seconds, got 0"):
        PagerDutyNotifier(name="x", routing_key=key, timeout=0)
    assert PagerDutyNotifier(name="x", routing_key=key).url == "https://events.pagerduty.com"
    eu = PagerDutyNotifier(name="x", routing_key=key,
                           url="https://events.eu.pagerduty.com/v2/enqueue")
    assert eu.url == "https://events.eu.pagerduty.com"
    built = notifiers.create("pagerduty", name="x", routing_key=key, url=pd.url + "/v2/enqueue")
    assert isinstance(built, PagerDutyNotifier)
    assert repr(built) == f"PagerDutyNotifier(name='x', url='{pd.url}')"
    assert built.send(_note()).accepted


def _worker(database: Database, pd: FakePagerDutyEvents, clock: FakeClock) -> DeliveryWorker:
    return DeliveryWorker(outbox=OutboxStore(database), notifiers={"oncall": _notifier(pd)},
                          clock=clock, base_delay=timedelta(milliseconds=10),
                          max_delay=timedelta(milliseconds=20), rng=random.Random(5))


def test_outbox_delivers_one_event_through_429_and_500(database: Database,
                                                       pd: FakePagerDutyEvents) -> None:
    clock = FakeClock(T0)
    worker = _worker(database, pd, clock)
    worker.outbox.enqueue(_note(), T0)
    pd.rate_limit_next(1, retry_after=3)
    pd.server_error_next(1)
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    (waiting,) = worker.outbox.list()
    assert waiting.next_attempt_at == T0 + timedelta(seconds=3)  # Retry-After beats backoff
    clock.advance(timedelta(seconds=3))
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due() == DeliveryReport(claimed=1, sent=1)
    clock.advance(timedelta(hours=1))
    assert worker.deliver_due() == DeliveryReport()
    (sent,) = worker.outbox.list()
    assert (sent.status, sent.attempts, sent.external_ref) == (OutboxStatus.SENT, 3, KEY)
    assert len(pd.requests) == 3 and len(pd.events) == 1 and list(pd.incidents) == [KEY]
    worker.outbox.enqueue(_note(RESOLVED), clock.now())
    assert worker.deliver_due().sent == 1
    assert pd.incidents[KEY].status == "resolved" and len(pd.events) == 2


def test_a_restart_mid_delivery_opens_no_second_incident(database: Database,
                                                         pd: FakePagerDutyEvents) -> None:
    clock = FakeClock(T0)
    OutboxStore(database).enqueue(_note(), T0)
    # the first process claims the entry and sends, then dies before recording the outcome
    first = _worker(database, pd, clock)
    (entry,) = first.outbox.claim_due(T0, 10, first.lease)
    first.notifiers["oncall"].send(entry.notification)
    clock.advance(first.lease)
    restarted = _worker(database, pd, clock)  # a new process: nothing remembered
    assert restarted.deliver_due() == DeliveryReport(claimed=1, sent=1)
    assert len(pd.events) == 2 and len(pd.incidents) == 1
    assert pd.incidents[KEY].status == "triggered"


# Grouped notifications: one incident per AlertRouting group episode.

def _burn(model: str, status: NotificationStatus = FIRING, *, severity: str = "page",
          runbook: str = "https://runbooks.example/slo-burn.md") -> Notification:
    return member("ErrorBudgetBurn", status, receiver="oncall", starts_at=T0, value=14.4,
                  labels={"severity": severity, "service": "checkout", "model": model},
                  annotations={"summary": f"{model} burning budget 14.4x",
                               "runbook_url": runbook})


def _flush(flush: int, *members: Notification) -> Notification:
    return grouped(members, group_labels={"service": "checkout"}, flush=flush)


def test_a_group_episode_is_one_incident_from_trigger_to_resolve(
        pd: FakePagerDutyEvents) -> None:
    notifier = _notifier(pd)
    first = _flush(1, _burn("fraud"), _burn("ads", severity="ticket"))
    follow_up = _flush(2, _burn("fraud", RESOLVED), _burn("ads", severity="ticket"),
                       _burn("churn", runbook="https://runbooks.example/churn.md"))
    done = _flush(3, _burn("ads", RESOLVED, severity="ticket"), _burn("churn", RESOLVED))
    key = f"watchkeeper/{first.dedup_key}"
    assert {event_dedup_key(n) for n in (first, follow_up, done)} == {key}
    refs = [notifier.send(n).external_ref for n in (first, follow_up, done)]
    assert refs == [key] * 3
    assert [(e["event_action"], e["dedup_key"]) for e in (r.json() for r in pd.requests)] == [
        ("trigger", key), ("trigger", key), ("resolve", key)]
    assert list(pd.incidents) == [key] and pd.incidents[key].status == "resolved"
    assert len(pd.incidents[key].events) == 3


def test_a_group_trigger_summarises_and_details_every_alert(pd: FakePagerDutyEvents) -> None:
    group = _flush(2, _burn("fraud", RESOLVED), _burn("ads", severity="ticket"),
                   _burn("churn", runbook="https://runbooks.example/churn.md"))
    _notifier(pd).send(group)
    event = pd.requests[0].json()
    payload = event["payload"]
    assert payload["summary"] == "[FIRING:2] ErrorBudgetBurn checkout"
    assert (payload["severity"], payload["class"], payload["timestamp"]) == (
        "critical", "ErrorBudgetBurn", "2026-03-01T12:00:00Z")  # churn pages
    assert (payload["component"], payload["group"]) == ("checkout", "checkout")
    details = payload["custom_details"]
    assert details["group_key"] == '{}:{service="checkout"}'
    assert details["group_labels"] == {"service": "checkout"}
    assert (details["firing_count"], details["resolved_count"]) == (2, 1)
    assert [d["labels"]["model"] for d in details["firing"]] == ["ads", "churn"]
    (fraud,) = details["resolved"]
    assert fraud == {
        "labels": {"alertname": "ErrorBudgetBurn", "model": "fraud", "service": "checkout",
                   "severity": "page"},
        "annotations": {"runbook_url": "https://runbooks.example/slo-burn.md",
                        "summary": "fraud burning budget 14.4x"},
        "value": 14.4, "fingerprint": group.alerts[0].alert_fingerprint,
        "starts_at": "2026-03-01T12:00:00Z", "ends_at": "2026-03-01T12:10:00Z"}
    assert event["links"] == [
        {"href": "https://runbooks.example/slo-burn.md", "text": "Runbook (model=ads)"},
        {"href": "https://runbooks.example/churn.md", "text": "Runbook (model=churn)"}]


def test_a_groups_common_summary_and_link_and_the_limits(pd: FakePagerDutyEvents) -> None:
    same = [dataclasses.replace(_burn(f"m{i:03d}"), annotations={
        "summary": "checkout burning budget " + "x" * 1100,
        "runbook_url": "https://runbooks.example/slo-burn.md"}) for i in range(120)]
    _notifier(pd).send(_flush(1, *same))
    event = pd.requests[0].json()
    summary = event["payload"]["summary"]
    assert len(summary) == 1024 and summary.startswith(
        "[FIRING:120] ErrorBudgetBurn checkout: checkout burning budget xxx")
    details = event["payload"]["custom_details"]
    assert (len(details["firing"]), details["alerts_not_listed"]) == (100, 20)
    assert event["links"] == [{"href": "https://runbooks.example/slo-burn.md", "text": "Runbook"}]
    long = dataclasses.replace(_flush(1, _burn("ads")), dedup_key="k" * 300)
    assert len(event_dedup_key(long)) <= 255
    assert event_dedup_key(long) == event_dedup_key(dataclasses.replace(long, thread_key=""))


GROUP_ROUTING = """\
route:
  receiver: oncall
  group_by: [service]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
"""


def test_every_flush_of_a_group_through_the_outbox_hits_one_incident(
        database: Database, pd: FakePagerDutyEvents, tmp_path: Path) -> None:
    pipeline = GroupPipeline(database, parse_routing(tmp_path, GROUP_ROUTING),
                             {"oncall": _notifier(pd)}, start=T0)
    pipeline.fire("ErrorBudgetBurn", service="checkout", model="fraud", severity="page")
    assert pipeline.at(0)[0] == []  # the group opens; group_wait runs
    (first,), _ = pipeline.at(30)
    pipeline.fire("ErrorBudgetBurn", service="checkout", model="ads", severity="page")
    (added,), _ = pipeline.at(330)
    repeats = [n for s in range(630, 330 + 3600 + 301, 300) for n in pipeline.at(s)[0]]
    assert len(repeats) == 1 and repeats[0].thread_key == first.dedup_key
    pipeline.clear("ErrorBudgetBurn", service="checkout", model="fraud", severity="page")
    pipeline.clear("ErrorBudgetBurn", service="checkout", model="ads", severity="page")
    (done,), report = pipeline.at(330 + 3600 + 600)
    assert report.sent == 1
    keys = {e["dedup_key"] for e in pd.events}
    assert [e["event_action"] for e in pd.events] == ["trigger"] * 3 + ["resolve"]
    assert keys == {f"watchkeeper/{first.dedup_key}"} and len(pd.incidents) == 1
    assert pd.open_incidents() == []
    for note in (first, added, *repeats, done):
        entry = pipeline.outbox.get(note.dedup_key)
        assert entry is not None and entry.status is OutboxStatus.SENT
        assert entry.external_ref == f"watchkeeper/{first.dedup_key}"
