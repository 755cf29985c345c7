"""The Slack incoming-webhook notifier (slack-sdk WebhookClient) against the loopback Slack."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting.delivery import DeliveryReport, DeliveryWorker
from monitor.alerting.notifiers import (
    SlackDeliveryError,
    SlackWebhookNotifier,
    build_message,
    notifiers,
)
from monitor.config.secrets import Secret
from monitor.core.errors import DeliveryError
from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.outbox import OutboxStatus, OutboxStore, dedup_key
from tests.fakes.alert_groups import grouped, member
from tests.fakes.slack_api import WEBHOOK_METHOD, FakeSlackAPI

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED
HOOK_SECRET = "QZXQhookSecretNeverShown"


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(webhook_secret=HOOK_SECRET) as fake:
        yield fake


def _notifier(fake: FakeSlackAPI, *, url: str | None = None,
              timeout: float = 5.0) -> SlackWebhookNotifier:
    return SlackWebhookNotifier(name="ml-hook", url=Secret(url or fake.webhook_url),
                                timeout=timeout)


def _note(status: NotificationStatus = FIRING) -> Notification:
    return Notification(
        dedup_key=dedup_key("ml-hook", "f00d", T0, status), receiver="ml-hook", status=status,
        alert_fingerprint="f00d", alert_name="FraudModelErrorBudgetBurn",
        labels=Labels({"severity": "page", "model": "fraud"}),
        annotations={"summary": "fraud availability SLO burning 14.4x", "burn_rate_1h": "14.4",
                     "runbook_url": "https://runbooks.example/slo-burn.md",
                     "dashboard_url": "https://grafana.example/d/fraud"},
        value=14.4, starts_at=T0, ends_at=T0 + timedelta(minutes=20) if status is RESOLVED
        else None)


def _posts(fake: FakeSlackAPI) -> list[dict[str, object]]:
    return [dict(c.params) for c in fake.calls_to(WEBHOOK_METHOD)]


def test_firing_posts_the_same_block_kit_as_the_web_api(slack: FakeSlackAPI) -> None:
    delivery = _notifier(slack).send(_note())
    message = build_message(_note())
    (call,) = slack.calls_to(WEBHOOK_METHOD)
    assert call.authorized and call.content_type.startswith("application/json")
    assert dict(call.params) == {"text": message.text, "blocks": list(message.blocks),
                                 "unfurl_links": False, "unfurl_media": False}
    blocks = str(call.params["blocks"])
    for expected in ("FIRING: FraudModelErrorBudgetBurn", "*burn_rate_1h*\\n14.4",
                     "https://runbooks.example/slo-burn.md", "https://grafana.example/d/fraud"):
        assert expected in blocks
    assert delivery.accepted and delivery.detail == "posted through the webhook on 127.0.0.1"
    assert len(slack.messages) == 1


def test_resolution_is_posted_as_a_new_resolved_message(slack: FakeSlackAPI) -> None:
    notifier = _notifier(slack)
    notifier.send(_note())
    notifier.send(_note(RESOLVED))
    firing, resolved = _posts(slack)
    assert str(resolved["text"]).startswith("[RESOLVED] FraudModelErrorBudgetBurn")
    assert ":white_check_mark: RESOLVED: FraudModelErrorBudgetBurn" in str(resolved["blocks"])
    assert len(slack.messages) == 2 and slack.calls_to("chat.update") == []


@pytest.mark.parametrize(("status", "code", "ending"), [
    (400, "invalid_payload", "the message was malformed; report this with the alert that "
                             "caused it"),
    (403, "action_prohibited", "the workspace restricts this webhook; ask a Slack admin"),
    (404, "channel_not_found", "the webhook's channel is gone; create a webhook for another "
                               "channel"),
    (410, "channel_is_archived", "the webhook's channel is archived; unarchive it or create a "
                                 "webhook for another channel"),
])
def test_slack_refusals_are_not_retried(slack: FakeSlackAPI, status: int, code: str,
                                        ending: str) -> None:
    slack.webhook_error_next(status=status, error=code)
    with pytest.raises(SlackDeliveryError) as info:
        _notifier(slack).send(_note())
    error = info.value
    assert (error.code, error.status, error.retryable, error.retry_after) == (
        code, status, False, None)
    assert str(error) == (f"slack-webhook receiver 'ml-hook': POST to 127.0.0.1: Slack "
                          f"answered {code} (HTTP {status}); {ending}")


def test_a_removed_webhook_is_no_service_and_its_url_is_not_shown(slack: FakeSlackAPI) -> None:
    gone = slack.url + "/services/T0WATCHKP/B0WEBHOOK1/QZXQremovedHookSecret"
    with pytest.raises(SlackDeliveryError) as info:
        _notifier(slack, url=gone).send(_note())
    assert (info.value.code, info.value.status, info.value.retryable) == ("no_service", 404,
                                                                          False)
    assert str(info.value).endswith("create a new incoming webhook and update the receiver's "
                                    "url")
    assert "QZXQ" not in str(info.value) and "/services/" not in str(info.value)


def test_rate_limit_is_retryable_with_retry_after_and_not_retried_by_the_sdk(
        slack: FakeSlackAPI) -> None:
    slack.rate_limit_next(1, retry_after=3)
    with pytest.raises(SlackDeliveryError) as info:
        _notifier(slack).send(_note())
    assert (info.value.code, info.value.status, info.value.retryable, info.value.retry_after) \
        == ("rate_limited", 429, True, 3.0)
    assert str(info.value).endswith("Slack answered rate_limited (HTTP 429); will retry")
    assert len(slack.calls) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(slack: FakeSlackAPI, status: int) -> None:
    slack.server_error_next(1, status=status)
    with pytest.raises(SlackDeliveryError) as info:
        _notifier(slack).send(_note())
    assert (info.value.code, info.value.retryable) == (f"http_{status}", True)
    slack.webhook_error_next(status=500, error="rollup_error")
    with pytest.raises(SlackDeliveryError, match=r"rollup_error \(HTTP 500\); will retry"):
        _notifier(slack).send(_note())
    assert len(slack.calls) == 2


def test_a_timeout_and_an_outage_are_retryable(slack: FakeSlackAPI) -> None:
    slack.slow_next(1, seconds=1.3)  # slack-sdk takes whole seconds: the least is 1
    with pytest.raises(DeliveryError, match=r"cannot reach Slack \(TimeoutError: .*\); will "
                                            r"retry") as info:
        _notifier(slack, timeout=0.5).send(_note())
    assert info.value.retryable is True and len(slack.calls) == 1
    notifier = _notifier(slack)
    slack.go_down()
    with pytest.raises(DeliveryError, match=r"cannot reach Slack \(URLError: .*Connection "
                                            r"refused.*\); will retry") as info:
        notifier.send(_note())
    assert info.value.retryable is True
    slack.come_back()
    assert notifier.send(_note()).accepted


def test_the_webhook_url_never_reaches_logs_or_errors(
        slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture) -> None:
    errors = []
    with caplog.at_level(logging.DEBUG):
        notifier = _notifier(slack)
        notifier.send(_note())
        for misbehave in (slack.rate_limit_next, slack.server_error_next,
                          slack.webhook_error_next):
            misbehave()
            with pytest.raises(DeliveryError) as info:
                _notifier(slack).send(_note())
            errors.append(str(info.value))
        down = _notifier(slack)
        slack.go_down()
        with pytest.raises(DeliveryError) as info:
            down.send(_note())
        errors.append(str(info.value))
    sdk = [r for r in caplog.records if r.name.endswith("slack_webhook.sdk")]
    assert sdk and "Failed to send a request" in sdk[0].getMessage()  # the SDK did log
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for text in (logged, *errors, repr(notifier)):
        assert HOOK_SECRET not in text


def test_bad_settings_and_the_registry(slack: FakeSlackAPI) -> None:
    with pytest.raises(ValueError, match="slack-webhook receiver 'x': url must be a non-empty "
                                         "Secret"):
        SlackWebhookNotifier(name="x", url=Secret(""))
    with pytest.raises(ValueError) as info:
        SlackWebhookNotifier(name="x", url=Secret("hooks.slack.com/services/T/B/QZXQ"))
    assert "must be an http(s) URL" in str(info.value) and "QZXQ" not in str(info.value)
    with pytest.raises(ValueError, match="timeout must be > 0 seconds, got 0"):
        SlackWebhookNotifier(name="x", url=Secret(slack.webhook_url), timeout=0)
    built = notifiers.create("slack-webhook", name="x", url=Secret(slack.webhook_url))
    assert isinstance(built, SlackWebhookNotifier) and built.send(_note()).accepted
    assert repr(built) == "SlackWebhookNotifier(name='x', host='127.0.0.1')"


def test_outbox_delivers_one_message_through_429_and_500(database: Database,
                                                         slack: FakeSlackAPI) -> None:
    clock = FakeClock(T0)
    worker = DeliveryWorker(outbox=OutboxStore(database), notifiers={"ml-hook": _notifier(slack)},
                            clock=clock, base_delay=timedelta(milliseconds=10),
                            max_delay=timedelta(milliseconds=20), rng=random.Random(5))
    worker.outbox.enqueue(_note(), T0)
    slack.rate_limit_next(1, retry_after=2)
    slack.server_error_next(1)
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    (waiting,) = worker.outbox.list()
    assert waiting.next_attempt_at == T0 + timedelta(seconds=2)
    clock.advance(timedelta(seconds=2))
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due() == DeliveryReport(claimed=1, sent=1)
    clock.advance(timedelta(hours=1))
    assert worker.deliver_due() == DeliveryReport()
    (sent,) = worker.outbox.list()
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 3)
    assert len(slack.calls) == 3 and len(slack.messages) == 1


def _drift(feature: str, status: NotificationStatus = FIRING) -> Notification:
    return member("FeatureDrift", status, receiver="ml-hook", starts_at=T0,
                  labels={"severity": "page", "model": "churn", "feature": feature},
                  annotations={"summary": f"{feature} drifted"})


def test_each_message_of_a_group_is_posted_whole(slack: FakeSlackAPI) -> None:
    """An incoming webhook cannot edit: the group's latest state is posted every time."""
    notifier = _notifier(slack)
    first = grouped([_drift("age"), _drift("tenure")], group_labels={"model": "churn"})
    follow_up = dataclasses.replace(
        grouped([_drift("age", RESOLVED), _drift("tenure"), _drift("plan")],
                group_labels={"model": "churn"}, flush=2),
        previous_ref="C0ALERTS01:1700000001.000100")  # what a Web API receiver would use
    done = grouped([_drift("tenure", RESOLVED), _drift("plan", RESOLVED)],
                   group_labels={"model": "churn"}, flush=3)
    deliveries = [notifier.send(n) for n in (first, follow_up, done)]
    assert all(d.accepted for d in deliveries)
    posts = _posts(slack)
    assert [p["text"] for p in posts] == ["[FIRING:2] FeatureDrift churn",
                                          "[FIRING:2] FeatureDrift churn",
                                          "[RESOLVED] FeatureDrift churn"]
    for post, note in zip(posts, (first, follow_up, done), strict=True):
        assert post["blocks"] == list(build_message(note).blocks)
        assert "thread_ts" not in post and "ts" not in post
    assert len(slack.messages) == 3
