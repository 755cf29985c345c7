"""The Slack notifier against a loopback fake of the Web API, alone and behind the outbox.

Grouped notifications (an ``AlertRouting`` group's alerts) keep one channel message per
group episode: posted first, updated in place as alerts join or resolve, and answered in
its thread when the whole group has resolved.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from monitor.alerting.delivery import DeliveryReport, DeliveryWorker
from monitor.alerting.notifiers import SlackDeliveryError, SlackNotifier, notifiers
from monitor.config.secrets import Secret
from monitor.core.errors import DeliveryError
from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.outbox import OutboxStatus, OutboxStore, dedup_key
from tests.fakes.alert_groups import GroupPipeline, grouped, member, parse_routing
from tests.fakes.slack_api import FakeSlackAPI

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


def _notifier(fake: FakeSlackAPI, *, token: str | None = None,
              channel: str = "#alerts") -> SlackNotifier:
    return SlackNotifier(name="ml-slack", channel=channel, token=Secret(token or fake.token),
                         base_url=fake.api_url, timeout=5)


def _note(status: NotificationStatus = FIRING, previous_ref: str = "") -> Notification:
    return Notification(
        dedup_key=dedup_key("ml-slack", "f00d", T0, status), receiver="ml-slack",
        status=status, alert_fingerprint="f00d", alert_name="FraudModelErrorBudgetBurn",
        labels=Labels({"severity": "page", "model": "fraud"}),
        annotations={"summary": "fraud availability SLO burning 14.4x",
                     "burn_rate_1h": "14.4", "budget_consumed": "3.2%",
                     "runbook_url": "https://runbooks.example/slo-burn.md"},
        value=14.4, starts_at=T0, previous_ref=previous_ref,
        ends_at=T0 + timedelta(minutes=20) if status is RESOLVED else None)


def _texts(blocks: object) -> str:
    return json.dumps(blocks)


def test_firing_posts_blocks_with_severity_runbook_and_figures(slack: FakeSlackAPI) -> None:
    delivery = _notifier(slack).send(_note())
    (call,) = slack.calls_to("chat.postMessage")
    assert call.authorized and call.content_type.startswith("application/json")
    assert call.params["channel"] == "#alerts" and call.params["unfurl_links"] is False
    blocks = _texts(call.params["blocks"])
    for expected in ("*Severity*\\npage", "*burn_rate_1h*\\n14.4", "*budget_consumed*\\n3.2%",
                     "*Value*\\n14.4", '"url": "https://runbooks.example/slo-burn.md"',
                     ":rotating_light: FIRING: FraudModelErrorBudgetBurn"):
        assert expected in blocks
    assert call.params["text"] == ("[FIRING] FraudModelErrorBudgetBurn (page): fraud "
                                   "availability SLO burning 14.4x")
    channel, ts = delivery.external_ref.split(":")
    assert channel == "C0ALERTS01" and (channel, ts) in slack.messages


def test_resolution_updates_the_message_and_replies_in_its_thread(slack: FakeSlackAPI) -> None:
    notifier = _notifier(slack)
    ref = notifier.send(_note()).external_ref
    delivery = notifier.send(_note(RESOLVED, previous_ref=ref))
    channel, ts = ref.split(":")
    (update,) = slack.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (channel, ts)
    assert ":white_check_mark: RESOLVED: FraudModelErrorBudgetBurn" in _texts(
        update.params["blocks"])
    assert "RESOLVED" in str(slack.messages[(channel, ts)]["text"])
    _, reply = slack.calls_to("chat.postMessage")
    assert (reply.params["channel"], reply.params["thread_ts"]) == (channel, ts)
    assert str(reply.params["text"]).startswith(":white_check_mark: RESOLVED: "
                                                "FraudModelErrorBudgetBurn resolved at")
    assert delivery.external_ref == ref


def test_resolution_of_a_vanished_message_is_posted_anew(slack: FakeSlackAPI) -> None:
    delivery = _notifier(slack).send(_note(RESOLVED, previous_ref="C0ALERTS01:1.000001"))
    assert [c.method for c in slack.calls] == ["chat.update", "chat.postMessage"]
    assert "thread_ts" not in slack.calls[1].params
    assert delivery.external_ref.startswith("C0ALERTS01:")


def test_a_repeated_dedup_key_is_not_posted_twice(slack: FakeSlackAPI) -> None:
    notifier = _notifier(slack)
    assert notifier.send(_note()) == notifier.send(_note())
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_invalid_token_is_a_non_retryable_invalid_auth(slack: FakeSlackAPI) -> None:
    with pytest.raises(SlackDeliveryError) as info:
        _notifier(slack, token="xoxb-wrong-token").send(_note())
    error = info.value
    assert (error.code, error.status, error.retryable) == ("invalid_auth", 200, False)
    assert str(error) == ("slack receiver 'ml-slack': chat.postMessage to #alerts: Slack "
                          "answered invalid_auth (HTTP 200); check the receiver's token (a "
                          "bot token, xoxb-…)")
    assert "xoxb-wrong-token" not in str(error)


def test_unknown_channel_is_not_retried(slack: FakeSlackAPI) -> None:
    with pytest.raises(SlackDeliveryError, match="channel_not_found .*invite the app") as info:
        _notifier(slack, channel="#nowhere").send(_note())
    assert info.value.retryable is False


def test_rate_limit_is_retryable_with_retry_after_and_not_retried_by_the_sdk(
        slack: FakeSlackAPI) -> None:
    slack.rate_limit_next(1, retry_after=7)
    with pytest.raises(SlackDeliveryError) as info:
        _notifier(slack).send(_note())
    assert (info.value.code, info.value.retryable, info.value.retry_after) == (
        "ratelimited", True, 7.0)
    assert len(slack.calls) == 1


def test_server_error_is_retryable(slack: FakeSlackAPI) -> None:
    slack.server_error_next(1, status=503)
    with pytest.raises(SlackDeliveryError, match=r"answered http_503 \(HTTP 503\)") as info:
        _notifier(slack).send(_note())
    assert info.value.retryable is True and info.value.retry_after is None
    assert len(slack.calls) == 1


def test_an_unreachable_slack_is_retryable(slack: FakeSlackAPI) -> None:
    notifier = _notifier(slack)
    slack.go_down()
    with pytest.raises(DeliveryError, match="cannot reach http://127.0.0.1:.*/api/: .*; will "
                                            "retry") as info:
        notifier.send(_note())
    assert info.value.retryable is True
    slack.come_back()
    assert notifier.send(_note()).accepted


def test_verify_and_bad_settings(slack: FakeSlackAPI) -> None:
    assert _notifier(slack).verify() == "Watchkeeper/watchkeeper"
    with pytest.raises(ValueError, match="slack receiver 'x': token must be a non-empty Secret"):
        SlackNotifier(name="x", channel="#a", token=Secret(""))
    with pytest.raises(ValueError, match="slack receiver 'x': channel must not be empty"):
        SlackNotifier(name="x", channel="", token=Secret("t"))
    with pytest.raises(ValueError, match=r"base_url 'ftp://h/' must be an http\(s\) URL"):
        SlackNotifier(name="x", channel="#a", token=Secret("t"), base_url="ftp://h/")
    built = notifiers.create("slack", name="x", channel="#a", token=Secret(slack.token),
                             base_url=slack.api_url)
    assert repr(built) == "SlackNotifier(name='x', channel='#a')"


def test_fake_takes_form_bodies_and_token_arguments(slack: FakeSlackAPI) -> None:
    body = urlencode({"token": slack.token, "channel": "C0MLONCALL", "text": "hi",
                      "blocks": json.dumps([{"type": "divider"}])}).encode()
    request = urllib.request.Request(slack.api_url + "chat.postMessage", data=body)
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer["ok"] and answer["channel"] == "C0MLONCALL"
    assert slack.calls[0].params["blocks"] == [{"type": "divider"}]


def _worker(database: Database, slack: FakeSlackAPI, clock: FakeClock) -> DeliveryWorker:
    return DeliveryWorker(outbox=OutboxStore(database), notifiers={"ml-slack": _notifier(slack)},
                          clock=clock, base_delay=timedelta(milliseconds=10),
                          max_delay=timedelta(milliseconds=20), rng=random.Random(3))


def test_outbox_delivers_firing_then_resolution_to_the_same_message(
        database: Database, slack: FakeSlackAPI) -> None:
    clock = FakeClock(T0)
    worker = _worker(database, slack, clock)
    worker.outbox.enqueue(_note(), T0)
    slack.rate_limit_next(1, retry_after=1)
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    (waiting,) = worker.outbox.list()
    assert waiting.next_attempt_at == T0 + timedelta(seconds=1)  # Retry-After beats backoff
    assert "ratelimited" in waiting.last_error
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due().sent == 1
    worker.outbox.enqueue(_note(RESOLVED), clock.now())
    assert worker.deliver_due().sent == 1
    firing = worker.outbox.get(_note().dedup_key)
    assert firing is not None and firing.status is OutboxStatus.SENT
    (update,) = slack.calls_to("chat.update")
    assert f"{update.params['channel']}:{update.params['ts']}" == firing.external_ref
    assert len(slack.calls_to("chat.postMessage")) == 3  # 429, the post, the thread reply


def test_token_never_reaches_logs_or_the_database(
        database: Database, slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(T0)
    with caplog.at_level(logging.DEBUG):
        worker = _worker(database, slack, clock)
        worker.outbox.enqueue(_note(), T0)
        slack.server_error_next(1)
        worker.deliver_due()
        clock.advance(timedelta(seconds=1))
        worker.deliver_due()
        worker.outbox.enqueue(_note(RESOLVED), clock.now())
        worker.deliver_due()
        bad = SlackNotifier(name="bad", channel="#alerts", token=Secret("xoxb-leaked-if-seen"),
                            base_url=slack.api_url)
        with pytest.raises(SlackDeliveryError):
            bad.send(_note())
    assert worker.outbox.counts() == {"pending": 0, "sent": 2, "failed": 0}
    assert any(r.name.startswith("slack_sdk") for r in caplog.records)  # the SDK did log
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for token in (slack.token, "xoxb-leaked-if-seen"):
        assert token not in logged
    with database.session() as session:
        rows = session.execute(text("SELECT payload, last_error, external_ref FROM outbox"))
        stored = json.dumps([list(row) for row in rows])
    assert "RESOLVED" not in stored and "f00d" in stored
    assert slack.token not in stored


def _drift(feature: str, status: NotificationStatus = FIRING) -> Notification:
    return member("FeatureDrift", status, receiver="ml-slack", starts_at=T0, value=0.3,
                  labels={"severity": "ticket", "model": "churn", "feature": feature},
                  annotations={"summary": f"{feature} drifted"})


def _flush(flush: int, *members: Notification, previous_ref: str = "") -> Notification:
    group = grouped(members, group_labels={"model": "churn"}, flush=flush)
    return dataclasses.replace(group, previous_ref=previous_ref)


def _header(blocks: object) -> str:
    assert isinstance(blocks, list)
    return str(blocks[0]["text"]["text"])


def test_a_group_follow_up_updates_the_groups_message_in_place(slack: FakeSlackAPI) -> None:
    notifier = _notifier(slack)
    first = notifier.send(_flush(1, _drift("age"), _drift("tenure")))
    channel, ts = first.external_ref.split(":")
    follow_up = _flush(2, _drift("age", RESOLVED), _drift("tenure"), _drift("plan"),
                       previous_ref=first.external_ref)
    assert follow_up.thread_key == _flush(1, _drift("age")).dedup_key
    second = notifier.send(follow_up)
    assert second.external_ref == first.external_ref
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.update"]
    update = slack.calls[1]
    assert (update.params["channel"], update.params["ts"]) == (channel, ts)
    assert _header(update.params["blocks"]) == ":warning: [FIRING:2] FeatureDrift churn"
    assert update.params["text"] == "[FIRING:2] FeatureDrift churn"
    assert _header(slack.messages[(channel, ts)]["blocks"]) == (
        ":warning: [FIRING:2] FeatureDrift churn")
    assert len(slack.messages) == 1


def test_a_resolved_group_updates_its_message_and_says_so_in_the_thread(
        slack: FakeSlackAPI) -> None:
    notifier = _notifier(slack)
    ref = notifier.send(_flush(1, _drift("age"), _drift("tenure"))).external_ref
    done = notifier.send(_flush(2, _drift("age", RESOLVED), _drift("tenure", RESOLVED),
                                previous_ref=ref))
    channel, ts = ref.split(":")
    assert done.external_ref == ref
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.update",
                                               "chat.postMessage"]
    assert _header(slack.calls[1].params["blocks"]) == (
        ":white_check_mark: RESOLVED: FeatureDrift churn")
    reply = slack.calls[2].params
    assert (reply["channel"], reply["thread_ts"]) == (channel, ts)
    assert str(reply["text"]).startswith(":white_check_mark: RESOLVED: All 2 alerts of "
                                         "FeatureDrift churn resolved at")


def test_a_follow_up_of_a_vanished_group_message_is_posted_anew(slack: FakeSlackAPI) -> None:
    delivery = _notifier(slack).send(_flush(2, _drift("age"), previous_ref="C0ALERTS01:1.000001"))
    assert [c.method for c in slack.calls] == ["chat.update", "chat.postMessage"]
    assert "thread_ts" not in slack.calls[1].params
    assert delivery.external_ref.startswith("C0ALERTS01:")
    assert delivery.external_ref != "C0ALERTS01:1.000001"


def test_a_single_alert_keeps_posting_when_it_has_no_thread(slack: FakeSlackAPI) -> None:
    note = dataclasses.replace(_note(), previous_ref="C0ALERTS01:1.000001")
    _notifier(slack).send(note)  # a firing alert outside any group never edits a message
    assert [c.method for c in slack.calls] == ["chat.postMessage"]


ROUTING = """\
route:
  receiver: ml-slack
  group_by: [model]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
"""


def test_a_group_episode_through_the_outbox_is_one_slack_message(
        database: Database, slack: FakeSlackAPI, tmp_path: Path) -> None:
    pipeline = GroupPipeline(database, parse_routing(tmp_path, ROUTING),
                             {"ml-slack": _notifier(slack)}, start=T0)
    pipeline.fire("FeatureDrift", model="churn", feature="age")
    pipeline.fire("FeatureDrift", model="churn", feature="tenure")
    assert pipeline.at(0)[0] == []
    (first,), report = pipeline.at(30)
    assert report.sent == 1 and first.thread_key == ""
    ((channel, ts),) = slack.messages
    pipeline.fire("FeatureDrift", model="churn", feature="plan")
    (added,), report = pipeline.at(330)
    assert report.sent == 1 and added.thread_key == first.dedup_key
    pipeline.clear("FeatureDrift", model="churn", feature="age")
    pipeline.clear("FeatureDrift", model="churn", feature="tenure")
    pipeline.clear("FeatureDrift", model="churn", feature="plan")
    (done,), report = pipeline.at(630)
    assert report.sent == 1 and done.status is RESOLVED
    updates = slack.calls_to("chat.update")
    assert [(u.params["channel"], u.params["ts"]) for u in updates] == [(channel, ts)] * 2
    assert _header(updates[0].params["blocks"]) == ":fire: [FIRING:3] FeatureDrift churn"
    assert _header(updates[1].params["blocks"]) == (
        ":white_check_mark: RESOLVED: FeatureDrift churn")
    posts = slack.calls_to("chat.postMessage")
    assert [p.params.get("thread_ts") for p in posts] == [None, ts]  # the post, the reply
    assert len(slack.messages) == 2
    for key in (first.dedup_key, added.dedup_key, done.dedup_key):
        entry = pipeline.outbox.get(key)
        assert entry is not None and entry.status is OutboxStatus.SENT
        assert entry.external_ref == f"{channel}:{ts}"
