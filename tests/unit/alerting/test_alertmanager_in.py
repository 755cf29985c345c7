"""Alertmanager in: the webhook payload read strictly, alerts fed to routing and remediation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from monitor.alerting import AlertStateMachine
from monitor.alerting.alertmanager_in import (
    AlertmanagerAlert,
    AlertmanagerStatus,
    WebhookPayloadError,
    ingest,
    parse_payload,
    parse_rfc3339,
    parse_webhook,
    to_signals,
)
from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.config import ReceiverConfig, ServiceConfig, read_service_config
from monitor.config.secrets import Secret
from monitor.core.model import AlertState, Labels
from monitor.core.time import FakeClock
from monitor.remediation.backends.dry_run import DryRunBackend
from monitor.remediation.policy import Action, RemediationPolicy
from monitor.service import api_alertmanager
from monitor.service.api_alertmanager import DISABLED, WEBHOOK_PATH, register
from monitor.service.assembly import Rules, Watchkeeper
from monitor.service.loop import Loop
from monitor.store import Database
from monitor.store.alerts import AlertStore

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
TOKEN = "s3cret-token-for-tests"


def _alert(name: str = "ModelLatencyHigh", status: str = "firing",
           **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "model": "churn", "severity": "page", **labels},
        "annotations": {"summary": "p99 latency above 500ms"},
        "startsAt": "2026-07-01T11:58:30.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-07-01T12:03:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=latency",
        "fingerprint": "5e3a1c2b9d8f7a60",
    }


def _payload(*alerts: dict[str, Any], **top: Any) -> dict[str, Any]:
    items = list(alerts) or [_alert()]
    firing = any(a["status"] == "firing" for a in items)
    return {"version": "4", "groupKey": '{}:{alertname="ModelLatencyHigh"}',
            "truncatedAlerts": 0, "status": "firing" if firing else "resolved",
            "receiver": "watchkeeper", "groupLabels": {"alertname": "ModelLatencyHigh"},
            "commonLabels": {"alertname": "ModelLatencyHigh", "severity": "page"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
            "alerts": items, **top}


# -- parsing -------------------------------------------------------------------------------
def test_a_real_shaped_message_is_read_into_values() -> None:
    message = parse_webhook(json.dumps(_payload(_alert(), _alert("Other", "resolved"))))
    assert (message.version, message.status, message.receiver) == ("4", "firing", "watchkeeper")
    assert message.source == "alertmanager/watchkeeper"
    assert message.group_labels == Labels({"alertname": "ModelLatencyHigh"})
    assert message.external_url == "http://alertmanager:9093"
    first, second = message.alerts
    assert first == AlertmanagerAlert(
        status=AlertmanagerStatus.FIRING,
        labels=Labels({"alertname": "ModelLatencyHigh", "model": "churn", "severity": "page"}),
        annotations={"summary": "p99 latency above 500ms"},
        starts_at=datetime(2026, 7, 1, 11, 58, 30, 123456, tzinfo=UTC), ends_at=None,
        generator_url="http://prometheus:9090/graph?g0.expr=latency",
        fingerprint="5e3a1c2b9d8f7a60")
    assert second.ends_at == datetime(2026, 7, 1, 12, 3, tzinfo=UTC)
    assert second.name == "Other"


#: What Alertmanager 0.25 sent a webhook receiver for one alert, firing then resolved.
RECORDED = [
    b'{"receiver":"w","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A",'
    b'"x":"1"},"annotations":{},"startsAt":"2026-11-25T05:38:55.291180598Z","endsAt":'
    b'"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"6051004c729abe0e"}],'
    b'"groupLabels":{},"commonLabels":{"alertname":"A","x":"1"},"commonAnnotations":{},'
    b'"externalURL":"http://am.example:9093","version":"4","groupKey":"{}:{}",'
    b'"truncatedAlerts":0}\n',
    b'{"receiver":"w","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":'
    b'"A","x":"1"},"annotations":{},"startsAt":"2026-11-25T05:38:55.291180598Z","endsAt":'
    b'"2026-11-25T05:38:57.791719Z","generatorURL":"","fingerprint":"6051004c729abe0e"}],'
    b'"groupLabels":{},"commonLabels":{"alertname":"A","x":"1"},"commonAnnotations":{},'
    b'"externalURL":"http://am.example:9093","version":"4","groupKey":"{}:{}",'
    b'"truncatedAlerts":0}\n',
]


def test_what_alertmanager_sent_is_read(database: Database) -> None:
    firing, resolved = (parse_webhook(body) for body in RECORDED)
    (alert,) = firing.alerts
    assert (alert.status, alert.name, alert.ends_at, firing.group_key) == (
        AlertmanagerStatus.FIRING, "A", None, "{}:{}")
    assert resolved.alerts[0].ends_at == datetime(2026, 11, 25, 5, 38, 57, 791719, tzinfo=UTC)
    machine = AlertStateMachine(store=AlertStore(database))
    (fired,) = ingest(firing, state=machine, now=T0)
    (gone,) = ingest(resolved, state=machine, now=T0 + timedelta(seconds=3))
    assert (fired.to_state, gone.to_state) == (AlertState.FIRING, AlertState.RESOLVED)
    assert fired.alert.fingerprint == gone.alert.fingerprint


def test_optional_fields_may_be_left_out() -> None:
    message = parse_payload({"version": "4", "status": "firing", "receiver": "r", "alerts": [
        {"status": "firing", "labels": {"alertname": "A"}, "startsAt": "2026-07-01T12:00:00Z"}]})
    (alert,) = message.alerts
    assert (alert.annotations, alert.ends_at, alert.fingerprint) == ({}, None, "")
    assert (message.group_key, message.truncated_alerts) == ("", 0)


def test_alerts_become_signals_without_alertname_and_with_a_link_back() -> None:
    message = parse_payload(_payload(_alert(), _alert("Other", "resolved")))
    firing, resolved = to_signals(message)
    assert (firing.name, firing.active, firing.source) == (
        "ModelLatencyHigh", True, "alertmanager/watchkeeper")
    assert firing.labels == Labels({"model": "churn", "severity": "page"})
    assert firing.annotations == {"summary": "p99 latency above 500ms",
                                  "generator_url": "http://prometheus:9090/graph?g0.expr=latency"}
    assert (resolved.name, resolved.active) == ("Other", False)


def _with(path: str, value: Any) -> dict[str, Any]:
    """Return a good payload with the field at *path* set (or deleted when value is ...)."""
    data = _payload(_alert(), _alert("Second"), _alert("Third"))
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is ...:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("version", "3", "version: unsupported version '3'; this endpoint reads Alertmanager's "
                     'webhook payload version "4"'),
    ("version", ..., "version: required field is missing"),
    ("version", 4, "version: expected a string, got 4"),
    ("receiver", ..., "receiver: required field is missing"),
    ("receiver", "r" * 188, "receiver: 188 characters, at most 187; use a shorter receiver "
                            "name in alertmanager.yml"),
    ("status", "pending", 'status: expected "firing" or "resolved", got \'pending\''),
    ("truncatedAlerts", -1, "truncatedAlerts: expected a count >= 0, got -1"),
    ("truncatedAlerts", True, "truncatedAlerts: expected a count >= 0, got true"),
    ("groupLabels", [], "groupLabels: expected an object of strings, got an array"),
    ("commonAnnotations.summary", None, "commonAnnotations.summary: expected a string, got null"),
    ("alerts", ..., "alerts: required field is missing"),
    ("alerts", {}, "alerts: expected an array of alerts, got an object"),
    ("alerts.1", "x", "alerts[1]: expected an alert object, got 'x'"),
    ("alerts.2.startsAt", "yesterday", "alerts[2].startsAt: not an RFC3339 time: 'yesterday'"),
    ("alerts.2.startsAt", ..., "alerts[2].startsAt: required field is missing"),
    ("alerts.2.startsAt", 1719835200, "alerts[2].startsAt: expected an RFC3339 time, "
                                      "got 1719835200"),
    ("alerts.0.startsAt", "0001-01-01T00:00:00Z", "alerts[0].startsAt: the zero time "
                          "'0001-01-01T00:00:00Z'; expected when the alert started"),
    ("alerts.1.endsAt", "2026-13-01T00:00:00Z", "alerts[1].endsAt: not an RFC3339 time: "
                                                "'2026-13-01T00:00:00Z'"),
    ("alerts.1.endsAt", "2026-07-01 12:00:00Z", "alerts[1].endsAt: not an RFC3339 time: "
                                                "'2026-07-01 12:00:00Z'"),
    ("alerts.0.status", ..., "alerts[0].status: required field is missing"),
    ("alerts.0.status", "active", 'alerts[0].status: expected "firing" or "resolved", '
                                  "got 'active'"),
    ("alerts.0.labels", ..., "alerts[0].labels: required field is missing"),
    ("alerts.0.labels.alertname", ..., "alerts[0].labels.alertname: required label is "
                                       "missing; Watchkeeper names an alert by it"),
    ("alerts.0.labels.alertname", "", "alerts[0].labels.alertname: must not be empty"),
    ("alerts.0.labels.alertname", "A" * 201, "alerts[0].labels.alertname: 201 characters, "
                                             "at most 200"),
    ("alerts.0.labels.severity", 3, "alerts[0].labels.severity: expected a string, got 3"),
    ("alerts.0.labels.team-name", 3, 'alerts[0].labels["team-name"]: expected a string, got 3'),
    ("alerts.0.annotations", "x" * 100, "alerts[0].annotations: expected an object of "
                                        f"strings, got {'x' * 80!r}…"),
    ("alerts.0.generatorURL", False, "alerts[0].generatorURL: expected a string, got false"),
])
def test_each_bad_field_is_named_by_its_json_path(path: str, value: Any, message: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_payload(_with(path, value))
    assert str(caught.value) == message
    assert caught.value.problems == (message,)


@pytest.mark.parametrize(("body", "message"), [
    (b"yesterday", "body: not JSON: Expecting value at line 1, column 1"),
    (b'{"version": "4",\n "alerts": [}', "body: not JSON: Expecting value at line 2, column 13"),
    (b"\xff\xfe", "body: not UTF-8 text (byte 0)"),
    (b"[]", "body: expected a JSON object, got an array"),
    (b"null", "body: expected a JSON object, got null"),
])
def test_a_body_that_is_no_json_object_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(body)
    assert str(caught.value) == message


def test_every_problem_is_reported_at_once() -> None:
    data = _with("alerts.0.startsAt", "soon")
    data["alerts"][2]["status"] = "maybe"
    data["receiver"] = 7
    with pytest.raises(WebhookPayloadError) as caught:
        parse_payload(data)
    assert caught.value.problems == (
        "receiver: expected a string, got 7",
        "alerts[0].startsAt: not an RFC3339 time: 'soon'",
        "alerts[2].status: expected \"firing\" or \"resolved\", got 'maybe'")
    assert str(caught.value) == "; ".join(caught.value.problems)


def test_many_problems_are_summed_up_after_ten() -> None:
    data = _payload(*[_alert(f"A{i}") | {"startsAt": "x"} for i in range(13)])
    with pytest.raises(WebhookPayloadError) as caught:
        parse_payload(data)
    assert len(caught.value.problems) == 13
    assert str(caught.value).endswith("alerts[9].startsAt: not an RFC3339 time: 'x'; "
                                      "and 3 more problems")


def test_the_same_labels_twice_in_one_message_are_refused() -> None:
    with pytest.raises(WebhookPayloadError, match=r"^alerts\[2\]\.labels: the same labels as "
                                                  r"alerts\[0\]$"):
        parse_payload(_payload(_alert(), _alert("B"), _alert()))


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-07-01T12:00:00Z", datetime(2026, 7, 1, 12, tzinfo=UTC)),
    ("2026-07-01t12:00:00z", datetime(2026, 7, 1, 12, tzinfo=UTC)),
    ("2026-07-01T14:30:00+02:30", datetime(2026, 7, 1, 12, tzinfo=UTC)),
    ("2026-07-01T09:00:00.5-03:00", datetime(2026, 7, 1, 12, 0, 0, 500000, tzinfo=UTC)),
    ("2026-07-01T12:00:00.000001999Z", datetime(2026, 7, 1, 12, 0, 0, 1, tzinfo=UTC)),
])
def test_rfc3339_times_are_read_as_utc(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", ["2026-07-01", "2026-07-01T12:00:00", "2026-07-01T12:00Z",
                                  "2026-02-30T12:00:00Z", "2026-07-01T12:00:00.Z",
                                  "2026-07-01T12:00:00.1234567890Z", " 2026-07-01T12:00:00Z"])
def test_what_go_would_refuse_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not an RFC3339 time: "):
        parse_rfc3339(text)


# -- feeding the state machine ---------------------------------------------------------------
def test_three_deliveries_of_one_message_fire_once(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    message = parse_payload(_payload())
    seen = [ingest(message, state=machine, now=T0 + timedelta(seconds=10 * i))
            for i in range(3)]
    assert [len(t) for t in seen] == [1, 0, 0]
    (fired,) = seen[0]
    assert (fired.from_state, fired.to_state) == (AlertState.INACTIVE, AlertState.FIRING)
    (alert,) = AlertStore(database).all()
    assert (alert.state, alert.fired_at, alert.source) == (
        AlertState.FIRING, T0, "alertmanager/watchkeeper")
    assert alert.labels == Labels({"alertname": "ModelLatencyHigh", "model": "churn",
                                   "severity": "page"})


def test_a_resolved_alert_resolves_and_others_of_the_group_stay(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    ingest(parse_payload(_payload(_alert(), _alert(model="fraud"))), state=machine, now=T0)
    later = T0 + timedelta(minutes=5)
    resolved = parse_payload(_payload(_alert(status="resolved")))
    (t,) = ingest(resolved, state=machine, now=later)
    assert (t.from_state, t.to_state, t.alert.resolved_at) == (
        AlertState.FIRING, AlertState.RESOLVED, later)
    assert ingest(resolved, state=machine, now=later + timedelta(minutes=1)) == []
    states = {a.labels["model"]: a.state for a in AlertStore(database).all()}
    assert states == {"churn": AlertState.RESOLVED, "fraud": AlertState.FIRING}


def test_a_resolution_of_an_alert_never_seen_stores_nothing(database: Database) -> None:
    machine = AlertStateMachine(store=AlertStore(database))
    assert ingest(parse_payload(_payload(_alert(status="resolved"))), state=machine,
                  now=T0) == []
    assert AlertStore(database).all() == []


# -- the HTTP endpoint -----------------------------------------------------------------------
def _service(database: Database, *, token: str | None = TOKEN,
             policies: tuple[RemediationPolicy, ...] = ()) -> tuple[Loop, RecordingNotifier,
                                                                     DryRunBackend]:
    config = ServiceConfig(source="test", database_url=database.url,
                           receivers=(ReceiverConfig(name="pager", type="console",
                                                     severities=("page",)),),
                           alertmanager_webhook_token=Secret(token) if token else None)
    notifier, backend = RecordingNotifier(name="pager"), DryRunBackend()
    app = Watchkeeper(config, Rules(policies=policies), clock=FakeClock(T0), database=database,
                      extra_notifiers={"pager": notifier}, extra_backends={"dry-run": backend})
    return Loop(app), notifier, backend


@pytest.fixture
def client(database: Database) -> Iterator[tuple[TestClient, Loop, RecordingNotifier]]:
    loop, notifier, _ = _service(database)
    api = FastAPI()
    register(api, loop)
    with TestClient(api) as http:
        yield http, loop, notifier


def _post(http: TestClient, body: Any, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(WEBHOOK_PATH, content=content,
                     headers={**headers, "Content-Type": "application/json"})


def test_a_delivered_message_is_routed_once(
        client: tuple[TestClient, Loop, RecordingNotifier]) -> None:
    http, loop, notifier = client
    for _ in range(3):
        answer = _post(http, _payload(_alert(), _alert(model="fraud", severity="ticket")))
        assert (answer.status_code, answer.json()) == (200, {"status": "success", "alerts": 2})
    assert loop.deliver() == 1  # the ticket has no receiver; the page has one
    (sent,) = notifier.sent
    assert (sent.alert_name, sent.receiver, sent.labels["model"]) == (
        "ModelLatencyHigh", "pager", "churn")
    assert sent.annotations["generator_url"] == "http://prometheus:9090/graph?g0.expr=latency"


def test_no_token_configured_disables_the_endpoint(database: Database) -> None:
    loop, _, _ = _service(database, token=None)
    api = FastAPI()
    register(api, loop)
    with TestClient(api) as http:
        answer = _post(http, _payload())
    assert (answer.status_code, answer.json()) == (503, {"detail": DISABLED})
    assert DISABLED == ("the Alertmanager webhook is disabled; "
                        "set alertmanager_webhook.token in watchkeeper.yaml")
    assert AlertStore(database).all() == []


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer",
                                    f"Bearer {TOKEN}x", TOKEN])
def test_a_missing_or_wrong_token_is_refused_alike(
        client: tuple[TestClient, Loop, RecordingNotifier], header: str | None) -> None:
    http, loop, _ = client
    answer = http.post(WEBHOOK_PATH, content=json.dumps(_payload()).encode(),
                       headers={"Authorization": header} if header else {})
    assert (answer.status_code, answer.json()) == (401, {"detail": "missing or wrong bearer "
                                                                   "token"})
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert TOKEN not in answer.text
    assert loop.app.alerts.all() == []


def test_a_malformed_body_gets_400_with_the_problem_and_stores_nothing(
        client: tuple[TestClient, Loop, RecordingNotifier]) -> None:
    http, loop, _ = client
    data = _payload(_alert(), _alert("Second") | {"startsAt": "yesterday"})
    answer = _post(http, data)
    assert (answer.status_code, answer.json()) == (
        400, {"detail": "alerts[1].startsAt: not an RFC3339 time: 'yesterday'"})
    assert loop.app.alerts.all() == [] and loop.app.outbox.list() == []
    answer = _post(http, b"{not json")
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("body: not JSON: ")


def test_a_body_past_the_limit_gets_413(client: tuple[TestClient, Loop, RecordingNotifier],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    http, loop, _ = client
    monkeypatch.setattr(api_alertmanager, "MAX_BODY_BYTES", 100)
    answer = _post(http, _payload())
    assert answer.status_code == 413
    assert answer.json()["detail"].endswith("bytes, at most 100; lower max_alerts in the "
                                            "webhook_config")
    assert loop.app.alerts.all() == []


def test_a_webhook_alert_matching_a_policy_makes_one_action_run(database: Database) -> None:
    policy = RemediationPolicy(name="scale-on-latency", action=Action.SCALE_UP,
                               backend="dry-run", match={"alertname": "ModelLatencyHigh"})
    loop, _, backend = _service(database, policies=(policy,))
    api = FastAPI()
    register(api, loop)
    with TestClient(api) as http:
        for _ in range(3):
            assert _post(http, _payload()).status_code == 200
    assert loop.remediate() == 1
    assert loop.remediate() == 0
    (run,) = loop.app.runs.list()
    assert (run.policy, run.model, run.state.value, run.alert_name) == (
        "scale-on-latency", "churn", "succeeded", "ModelLatencyHigh")
    (request,) = backend.requests
    assert request.model == "churn"


# -- the service file ----------------------------------------------------------------------
def _config(tmp_path: Path, text: str) -> tuple[ServiceConfig | None, list[str]]:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(text)
    config, errors = read_service_config(path, display="watchkeeper.yaml")
    return config, [str(e) for e in errors]


def test_the_token_is_read_from_the_environment(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AM_TOKEN", TOKEN)
    config, errors = _config(tmp_path, "alertmanager_webhook: {token: '${AM_TOKEN}'}\n")
    assert errors == [] and config is not None
    assert config.alertmanager_webhook_token == Secret(TOKEN)
    config, _ = _config(tmp_path, "listen: 127.0.0.1:9464\n")
    assert config is not None and config.alertmanager_webhook_token is None


@pytest.mark.parametrize(("text", "message"), [
    ("alertmanager_webhook: {}\n",
     "watchkeeper.yaml:1:23: alertmanager_webhook.token: required key is missing; "
     "add token: <a string>"),
    ("alertmanager_webhook: {token: ''}\n",
     "watchkeeper.yaml:1:31: alertmanager_webhook.token: the token is empty; set it to a long "
     "random string from the environment, e.g. ${AM_TOKEN}"),
    ("alertmanager_webhook: {token: '${AM_UNSET}'}\n",
     "watchkeeper.yaml:1:31: alertmanager_webhook.token: environment variable AM_UNSET is not "
     "set; export it before starting"),
    ("alertmanager_webhook: {tokn: x}\n",
     'watchkeeper.yaml:1:24: alertmanager_webhook.tokn: unknown key; did you mean "token"?'),
])
def test_a_bad_token_section_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    _, errors = _config(tmp_path, text)
    assert message in errors
