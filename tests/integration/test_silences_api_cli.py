"""Silences through the HTTP API and the command line, on both databases."""

from __future__ import annotations

import argparse
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import monitor.cli
from monitor.cli import main
from monitor.cli_silences import add_parsers
from monitor.config import ServiceConfig
from monitor.core.time import FakeClock
from monitor.service.api_silences import register
from monitor.service.assembly import Rules, Watchkeeper
from monitor.service.loop import Loop
from monitor.store import Database
from monitor.store.silences import SilenceStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD: dict[str, Any] = {
    "matchers": [{"name": "alertname", "value": "ModelLatencyHigh", "isRegex": False,
                  "isEqual": True},
                 {"name": "model", "value": "churn|fraud", "isRegex": True}],
    "startsAt": "2026-03-01T12:00:00Z", "endsAt": "2026-03-01T14:00:00.250Z",
    "createdBy": "alice", "comment": "deploying v2",
}


# -- API ----------------------------------------------------------------------------------
@pytest.fixture
def api(database: Database) -> Iterator[tuple[TestClient, FakeClock]]:
    clock = FakeClock(T0)
    app = Watchkeeper(ServiceConfig(source="test", database_url=database.url), Rules(),
                      clock=clock, database=database)
    http = FastAPI()
    register(http, Loop(app))
    with TestClient(http) as client:
        yield client, clock


def test_post_get_list_and_expire(api: tuple[TestClient, FakeClock]) -> None:
    client, clock = api
    posted = client.post("/api/v1/silences", json=GOOD)
    assert posted.status_code == 200, posted.text
    silence_id = posted.json()["silenceID"]
    assert str(uuid.UUID(silence_id)) == silence_id
    expected = {
        "id": silence_id,
        "matchers": [GOOD["matchers"][0], {**GOOD["matchers"][1], "isEqual": True}],
        "startsAt": "2026-03-01T12:00:00.000Z", "endsAt": "2026-03-01T14:00:00.250Z",
        "updatedAt": "2026-03-01T12:00:00.000Z", "createdBy": "alice",
        "comment": "deploying v2", "status": {"state": "active"},
    }
    assert client.get(f"/api/v1/silences/{silence_id}").json() == {
        "status": "success", "data": expected}
    assert client.get("/api/v1/silences").json()["data"] == [expected]
    assert client.get("/api/v1/silences?state=active").json()["data"] == [expected]
    assert client.get("/api/v1/silences?state=pending,expired").json()["data"] == []
    clock.advance(timedelta(minutes=5))
    gone = client.delete(f"/api/v1/silences/{silence_id}")
    assert gone.status_code == 200
    assert gone.json()["data"]["endsAt"] == "2026-03-01T12:05:00.000Z"
    assert gone.json()["data"]["status"] == {"state": "expired"}
    assert client.get("/api/v1/silences?state=expired").json()["data"][0]["id"] == silence_id
    again = client.delete(f"/api/v1/silences/{silence_id}")
    assert (again.status_code, again.json()) == (409, {
        "detail": f"silence {silence_id} already expired at 2026-03-01T12:05:00+00:00"})


def test_a_silence_starting_later_is_pending(api: tuple[TestClient, FakeClock]) -> None:
    client, clock = api
    body = {**GOOD, "startsAt": "2026-03-01T13:30:00+01:00", "endsAt": "2026-03-01T13:00:00Z"}
    silence_id = client.post("/api/v1/silences", json=body).json()["silenceID"]
    assert client.get("/api/v1/silences?state=pending").json()["data"][0]["id"] == silence_id
    clock.advance(timedelta(minutes=30))
    listed = client.get("/api/v1/silences?state=active").json()["data"]
    assert [s["startsAt"] for s in listed] == ["2026-03-01T12:30:00.000Z"]


def test_unknown_ids_and_states_are_told(api: tuple[TestClient, FakeClock]) -> None:
    client, _ = api
    missing = client.get("/api/v1/silences/nope")
    assert (missing.status_code, missing.json()) == (404, {"detail": "no silence with id 'nope'"})
    gone = client.delete("/api/v1/silences/nope")
    assert (gone.status_code, gone.json()["detail"]) == (
        404, "no silence with id 'nope'; list them with: watchkeeper silences list")
    bad = client.get("/api/v1/silences?state=muted")
    assert (bad.status_code, bad.json()["detail"]) == (
        400, "state: 'muted' is not a silence state; use pending, active, expired")


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != key}


BAD_BODIES: list[tuple[object, str]] = [
    ([1], "body: expected a JSON object with matchers, startsAt, endsAt, createdBy, comment"),
    ({**GOOD, "endAt": "x"}, 'endAt: unknown field; did you mean "endsAt"?'),
    ({**GOOD, "id": "abc"}, "id: updating a silence is not supported; expire it with "
                            "DELETE /api/v1/silences/ID and post a new one"),
    (_without("matchers"), "matchers: expected a non-empty list of {name, value, isRegex, "
                           "isEqual}, got null"),
    ({**GOOD, "matchers": []}, "matchers: expected a non-empty list of {name, value, "
                               "isRegex, isEqual}, got []"),
    ({**GOOD, "matchers": ["a=b"]}, 'matchers[0]: expected an object with name, value, '
                                    'isRegex and isEqual, got "a=b"'),
    ({**GOOD, "matchers": [{"name": "a", "value": "b", "isRegex": "no"}]},
     'matchers[0].isRegex: expected true or false, got "no"'),
    ({**GOOD, "matchers": [{"name": "a", "value": "b"}]},
     "matchers[0].isRegex: missing; give true or false"),
    ({**GOOD, "matchers": [{"name": "a", "value": 1, "isRegex": False}]},
     "matchers[0].value: expected a string, got 1"),
    ({**GOOD, "matchers": [{"name": "a-b", "value": "x", "isRegex": False}]},
     "matchers[0].name: 'a-b' is not a label name; use letters, digits and underscores, "
     "not starting with a digit"),
    ({**GOOD, "matchers": [{"name": "a", "value": "b", "isRegex": False, "isEqal": True}]},
     'matchers[0].isEqal: unknown field; did you mean "isEqual"?'),
    ({**GOOD, "matchers": [{"name": "a", "value": "(", "isRegex": True}]},
     "matchers[0].value: label a: invalid regular expression '(': missing ), unterminated "
     "subpattern at position 0"),
    ({**GOOD, "matchers": [{"name": "a", "value": ".*", "isRegex": True}]},
     'matchers: at least one matcher must not match the empty string, got a=~".*"; a '
     "silence like this would mute every alert"),
    (_without("startsAt"), "startsAt: missing"),
    ({**GOOD, "endsAt": "soon"}, "endsAt: 'soon' is not an RFC 3339 time; write e.g. "
                                 "2026-01-01T09:00:00Z"),
    ({**GOOD, "endsAt": "2026-03-01T12:00:00Z"},
     "endsAt: 2026-03-01T12:00:00+00:00 is not after startsAt 2026-03-01T12:00:00+00:00; "
     "end the silence after it starts"),
    ({**GOOD, "startsAt": "2026-03-01T10:00:00Z", "endsAt": "2026-03-01T11:00:00Z"},
     "endsAt: 2026-03-01T11:00:00+00:00 is in the past (now is 2026-03-01T12:00:00+00:00); "
     "a new silence must end in the future"),
    ({**GOOD, "createdBy": ""}, "createdBy: must not be empty; say who is silencing"),
    ({**GOOD, "comment": 3}, "comment: expected a string, got 3"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_bodies_get_400_naming_the_field_and_store_nothing(
        api: tuple[TestClient, FakeClock], body: object, message: str) -> None:
    client, _ = api
    answer = client.post("/api/v1/silences", json=body)
    assert (answer.status_code, answer.json()) == (400, {"detail": message})
    assert client.get("/api/v1/silences").json()["data"] == []


def test_a_body_that_is_not_json_gets_400(api: tuple[TestClient, FakeClock]) -> None:
    client, _ = api
    answer = client.post("/api/v1/silences", content=b"{matchers:",
                         headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("body: not valid JSON: Expecting property name")
    assert client.get("/api/v1/silences").json()["data"] == []


# -- command line -------------------------------------------------------------------------
def _config(database: Database, tmp_path: Path) -> str:
    url = database.url
    if database.schema:  # a PostgreSQL schema of its own, as the fixture made
        url += f"?options=-csearch_path%3D{database.schema}"
    (tmp_path / "rules").mkdir(exist_ok=True)
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(f"database: {{url: '{url}'}}\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``main`` know ``silences`` even before monitor.cli adds it itself."""
    original = monitor.cli._parser

    def parser() -> argparse.ArgumentParser:
        p = original()
        (sub,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if "silences" not in sub.choices:
            common = argparse.ArgumentParser(add_help=False)
            common.add_argument("--config", default=None)
            out = argparse.ArgumentParser(add_help=False)
            out.add_argument("--output", choices=["table", "json"], default="table")
            add_parsers(sub, common, out)
        return p

    monkeypatch.setattr(monitor.cli, "_parser", parser)


@pytest.mark.usefixtures("cli")
def test_cli_add_list_expire(database: Database, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # a wide terminal: no cell is cut short
    config = _config(database, tmp_path)
    assert main(["silences", "add", "alertname=ModelLatencyHigh", 'model=~"churn|fraud"',
                 "--duration", "2h", "--author", "alice", "--comment", "deploying v2",
                 "--config", config]) == 0
    silence_id = capsys.readouterr().out.strip()
    (stored,) = SilenceStore(database).list(datetime.now(UTC))
    assert stored.id == silence_id and stored.created_by == "alice"
    assert stored.ends_at - stored.starts_at == timedelta(hours=2)
    assert main(["silences", "list", "--config", config]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["id", "matchers", "state", "starts_at", "ends_at",
                                "created_by", "comment"]
    cells = re.split(r"\s{2,}", table[1].strip())
    assert cells[:3] + cells[5:] == [silence_id, 'alertname="ModelLatencyHigh" '
                                     'model=~"churn|fraud"', "active", "alice", "deploying v2"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", c) for c in cells[3:5])
    assert main(["silences", "list", "--state", "active", "--output", "json",
                 "--config", config]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["status"], listed["matchers"][1]) == (
        silence_id, {"state": "active"},
        {"name": "model", "value": "churn|fraud", "isRegex": True, "isEqual": True})
    assert main(["silences", "expire", silence_id, "--config", config]) == 0
    assert capsys.readouterr().out.startswith(f"expired {silence_id} at ")
    assert main(["silences", "list", "--state", "active", "--output", "json",
                 "--config", config]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.usefixtures("cli")
def test_cli_add_with_start_and_end(database: Database, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(database, tmp_path)
    assert main(["silences", "add", "ModelLatencyHigh", "--start", "2999-01-01T00:00:00Z",
                 "--end", "2999-01-01T03:00:00+01:00", "--author", "ops", "--comment", "later",
                 "--config", config]) == 0
    silence_id = capsys.readouterr().out.strip()
    assert main(["silences", "list", "--state", "pending", "--output", "json",
                 "--config", config]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == silence_id
    assert (listed["startsAt"], listed["endsAt"]) == ("2999-01-01T00:00:00.000Z",
                                                      "2999-01-01T02:00:00.000Z")
    assert listed["matchers"] == [{"name": "alertname", "value": "ModelLatencyHigh",
                                   "isRegex": False, "isEqual": True}]


CLI_ERRORS = [
    (["model<>churn"], [], "watchkeeper: matcher 'model<>churn': not a label matcher; "),
    (['model=~"(churn"'], [], "watchkeeper: matcher 'model=~\"(churn\"': label model: invalid "
                              "regular expression '(churn': missing ), unterminated "
                              "subpattern at position 0"),
    (['model=~".*"'], [], "watchkeeper: matchers: at least one matcher must not match the "
                          "empty string, got model=~\".*\"; a silence like this would mute "
                          "every alert"),
    (["a=b"], ["--duration", "soon"], "watchkeeper: --duration: invalid duration 'soon'; "),
    (["a=b"], ["--end", "2001-01-01T00:00:00Z"], "watchkeeper: endsAt: 2001-01-01T00:00:00+00:00"
                                                 " is not after startsAt "),
    (["a=b"], ["--start", "2999-01-01T00:00:00"],
     "watchkeeper: --start: '2999-01-01T00:00:00' has no time zone; "),
    (["a=b"], ["--comment", " "], "watchkeeper: comment: must not be empty; say why the alerts "
                                  "are silenced"),
]


@pytest.mark.usefixtures("cli")
@pytest.mark.parametrize(("matchers", "extra", "message"), CLI_ERRORS)
def test_cli_add_refuses_bad_input_and_stores_nothing(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        matchers: list[str], extra: list[str], message: str) -> None:
    config = _config(database, tmp_path)
    argv = ["silences", "add", *matchers, "--author", "alice", "--comment", "why",
            "--config", config, *extra]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(message), captured.err
    assert SilenceStore(database).list(datetime.now(UTC)) == []


@pytest.mark.usefixtures("cli")
def test_cli_expire_of_an_unknown_id_fails(database: Database, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["silences", "expire", "nope", "--config", _config(database, tmp_path)]) == 1
    assert capsys.readouterr().err == ("watchkeeper: no silence with id 'nope'; list them "
                                       "with: watchkeeper silences list\n")


@pytest.mark.usefixtures("cli")
def test_cli_requires_author_and_comment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["silences", "add", "alertname=A"])
    assert exited.value.code == 2
    assert ("the following arguments are required: --author, --comment"
            in capsys.readouterr().err)


def test_main_knows_silences(database: Database, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(database, tmp_path)
    assert main(["silences", "add", "alertname=A", "--author", "a", "--comment", "c",
                 "--config", config]) == 0
    silence_id = capsys.readouterr().out.strip()
    assert main(["silences", "list", "--output", "json", "--config", config]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == [silence_id]
