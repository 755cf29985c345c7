"""The recording notifier, the test double of every receiver."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.alerting.notifiers import Notifier, RecordingNotifier, notifiers
from monitor.core.errors import DeliveryError
from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.store import Database
from tests.fakes.alert_groups import GroupPipeline, grouped, parse_routing

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _note(key: str) -> Notification:
    return Notification(dedup_key=key, receiver="rec", status=NotificationStatus.FIRING,
                        alert_fingerprint="f", alert_name="A", labels=Labels(), annotations={},
                        value=1.0, starts_at=T0)


def test_records_each_dedup_key_once() -> None:
    rec = RecordingNotifier(name="rec")
    first = rec.send(_note("k1"))
    assert rec.send(_note("k1")) == first
    rec.send(_note("k2"))
    assert [n.dedup_key for n in rec.sent] == ["k1", "k2"]
    assert [n.dedup_key for n in rec.calls] == ["k1", "k1", "k2"]
    assert first.external_ref == "rec:1"


def test_fails_the_first_sends_as_told() -> None:
    rec = RecordingNotifier(name="rec", fail_times=2, retryable=False, retry_after=3.0)
    for attempt in (1, 2):
        with pytest.raises(DeliveryError, match=f"simulated failure {attempt} of 2") as info:
            rec.send(_note("k"))
        assert (info.value.retryable, info.value.retry_after) == (False, 3.0)
    assert rec.send(_note("k")).accepted and len(rec.sent) == 1
    with pytest.raises(ValueError, match="fail_times must be >= 0, got -1"):
        RecordingNotifier(name="rec", fail_times=-1)


def test_registered_and_implements_the_protocol() -> None:
    built = notifiers.create("recording", name="rec", fail_times=1)
    assert isinstance(built, RecordingNotifier) and isinstance(built, Notifier)
    assert {"console", "recording", "slack"} <= set(notifiers.names())


ROUTING = """\
route:
  receiver: rec
  group_by: [model]
  group_wait: 10s
  group_interval: 1m
"""


def test_keeps_grouped_notifications_as_the_dispatcher_made_them(
        database: Database, tmp_path: Path) -> None:
    """Also checks that the tests' hand-built groups agree with the dispatcher's."""
    rec = RecordingNotifier(name="rec")
    pipeline = GroupPipeline(database, parse_routing(tmp_path, ROUTING), {"rec": rec},
                             start=T0)
    pipeline.fire("Drift", 0.4, model="churn", feature="age")
    pipeline.fire("Drift", 0.2, model="churn", feature="tenure")
    pipeline.at(0)
    pipeline.at(10)
    pipeline.clear("Drift", model="churn", feature="age")
    pipeline.at(70)
    first, second = rec.sent
    assert [(m.labels["feature"], m.status) for m in first.alerts] == [
        ("age", NotificationStatus.FIRING), ("tenure", NotificationStatus.FIRING)]
    assert [(m.labels["feature"], m.status) for m in second.alerts] == [
        ("tenure", NotificationStatus.FIRING), ("age", NotificationStatus.RESOLVED)]
    assert (first.thread_key, second.thread_key) == ("", first.dedup_key)
    assert second.previous_ref == "rec:1"  # the delivery worker's, from the first message
    for flush, sent in enumerate((first, second), start=1):
        built = grouped(sent.alerts, group_labels={"model": "churn"}, flush=flush,
                        episode=T0)
        assert dataclasses.replace(sent, previous_ref="", may_have_been_sent=False) == built
