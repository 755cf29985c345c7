"""The service file: defaults, ${ENV} secrets, and every problem reported with its place."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigErrors, Secret, load_service_config, parse_duration

GOOD = """\
database:
  url: sqlite:///state.db
listen: 127.0.0.1:9999
intervals: {scrape: 5s, evaluation: 10s}
targets:
  - name: model
    url: http://127.0.0.1:8080/metrics
    labels: {model: churn}
receivers:
  - name: slack
    type: slack
    channel: "#oncall"
    token: ${SLACK_TOKEN}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(text)
    return path


def test_good_file_resolves_paths_and_secrets(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-secret-value")
    config = load_service_config(_write(tmp_path, GOOD))
    assert config.database_url == f"sqlite:///{(tmp_path / 'state.db').resolve()}"
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 9999)
    assert config.intervals.scrape == timedelta(seconds=5)
    assert config.targets[0].labels == {"model": "churn"}
    assert config.targets[0].timeout == timedelta(seconds=5)  # capped by the interval
    token = config.receivers[0].token
    assert isinstance(token, Secret) and token.reveal() == "xoxb-secret-value"
    assert "xoxb" not in repr(config)


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_service_config(_write(tmp_path, ""))
    assert config.database_url.endswith("/watchkeeper.db")
    assert config.rules_dir == tmp_path / "rules"


def test_every_problem_is_reported_with_its_location(tmp_path: Path) -> None:
    text = """\
databse:
  url: sqlite:///x.db
listen: nowhere
intervals:
  scrape: 5 minutes
targets:
  - name: a
    url: ftp://example
  - name: a
    url: http://127.0.0.1:1/metrics
    timeout: 1h
receivers:
  - name: slack
    type: slack
    token: ${MISSING_TOKEN}
"""
    with pytest.raises(ConfigErrors) as info:
        load_service_config(_write(tmp_path, text))
    p = str(tmp_path / "watchkeeper.yaml")
    assert [str(e) for e in info.value.errors] == [
        f'{p}:1:1: databse: unknown key; did you mean "database"?',
        f"{p}:3:9: listen: invalid listen address 'nowhere'; use HOST:PORT, e.g. 127.0.0.1:9464",
        f"{p}:5:11: intervals.scrape: invalid duration '5 minutes'; use a number and a unit "
        "(ms, s, m, h, d, w, y), e.g. 30s, 5m, 1h30m, 28d",
        f"{p}:8:10: targets[0].url: invalid target URL 'ftp://example'; "
        "use http://HOST:PORT/metrics",
        f'{p}:9:11: targets[1].name: duplicate target name "a" (first at {p}:7:11)',
        f"{p}:11:14: targets[1].timeout: timeout 1h must not exceed the scrape interval (15s)",
        f"{p}:13:5: receivers[0].channel: required key is missing; add channel: <a string>",
        f"{p}:15:12: receivers[0].token: environment variable MISSING_TOKEN is not set; "
        "export it before starting",
    ]
    assert info.value.summary == "8 problems in 1 file; nothing was loaded."


def test_duplicate_keys_and_bad_yaml_are_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        load_service_config(_write(tmp_path, "listen: a:1\nlisten: b:2\n"))
    p = str(tmp_path / "watchkeeper.yaml")
    assert str(info.value.errors[0]) == (
        f"{p}:2:1: listen: duplicate key (first set on line 1); keep one of them")
    with pytest.raises(ConfigErrors) as info:
        load_service_config(_write(tmp_path, "targets: [\n  - a\n"))
    assert str(info.value.errors[0]).startswith(f"{p}:2:3: invalid YAML:")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1h30m", 5400), ("28d", 2419200),
                                                ("250ms", 0.25), ("1w", 604800)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_bad_duration_message() -> None:
    with pytest.raises(ValueError, match=r"invalid duration '5x'; use a number and a unit"):
        parse_duration("5x")


def test_every_receiver_type_and_the_fallback(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PD_KEY", "R0UT1NGKEY")
    monkeypatch.setenv("HOOK", "https://hooks.slack.com/services/T/B/XXXX")
    config = load_service_config(_write(tmp_path, """\
fallback_receiver: console
receivers:
  - {name: pd, type: pagerduty, routing_key: "${PD_KEY}", severities: [page]}
  - {name: hook, type: slack-webhook, url: "${HOOK}"}
  - {name: orchestrator, type: webhook, url: "http://127.0.0.1:9000/hook"}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:9093"}
  - {name: console, type: console}
"""))
    by_name = {r.name: r for r in config.receivers}
    assert by_name["pd"].routing_key is not None
    assert by_name["pd"].routing_key.reveal() == "R0UT1NGKEY"
    assert by_name["hook"].url is not None and "XXXX" not in repr(by_name["hook"])
    assert config.fallback_receiver == "console"


def test_receiver_problems_are_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        load_service_config(_write(tmp_path, """\
fallback_receiver: consol
receivers:
  - {name: pd, type: pagerduty}
  - {name: am, type: alertmanager, url: "not a url"}
  - {name: console, type: console}
  - {name: console, type: sms}
"""))
    p = str(tmp_path / "watchkeeper.yaml")
    assert [str(e) for e in info.value.errors] == [
        f"{p}:1:20: fallback_receiver: no receiver named 'consol'; did you mean \"console\"?",
        f"{p}:3:5: receivers[0].routing_key: required key is missing; add routing_key: "
        "<a string>",
        f"{p}:4:41: receivers[1].url: invalid receiver URL; use http(s)://HOST/PATH",
        f'{p}:6:12: receivers[3].name: duplicate receiver name "console" (first at {p}:5:12)',
        f"{p}:6:27: receivers[3].type: 'sms' is not one of alertmanager, console, pagerduty, "
        "slack, slack-webhook, webhook",
    ]
