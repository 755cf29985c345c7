"""Tests for the demo model server: predictions, faults, deploys, metrics and capture."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from trainers import serve
from trainers.serve import ModelServer
from trainers.tabular import LoadedModel, TrainResult

REPO_ROOT = Path(__file__).resolve().parents[3]
MODEL_NAME = "churn"  # the name the server fixture uses

Scrape = Callable[..., float | None]


def test_binds_loopback(server: ModelServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.url.rsplit(":", 1)[1] != "0"


def test_versions_can_be_directories(trained_v1: TrainResult, good_row: dict[str, object]) -> None:
    with ModelServer(model="m", versions={"v1": trained_v1.out_dir}, production="v1") as local:
        response = httpx.post(f"{local.url}/predict", json={"features": good_row}, timeout=5)
    assert response.status_code == 200
    assert response.json()["version"] == "v1"
    with pytest.raises(RuntimeError, match=r"only known after start\(\)"):
        _ = local.url


def test_predict_single_and_batch(
    client: httpx.Client,
    loaded_versions: dict[str, LoadedModel],
    good_row: dict[str, object],
) -> None:
    response = client.post("/predict", json={"features": good_row})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == MODEL_NAME
    assert body["version"] == "v2"
    assert body["predictions"] == pytest.approx(loaded_versions["v2"].predict_proba([good_row]))

    other = {**good_row, "plan": "premium", "tenure_months": 60}
    batch = client.post("/predict", json={"instances": [good_row, other, good_row]})
    assert batch.status_code == 200
    predictions = batch.json()["predictions"]
    assert len(predictions) == 3
    assert predictions[0] == predictions[2] != predictions[1]
    assert all(0.0 < p < 1.0 for p in predictions)


def test_missing_feature_is_400_naming_it(
    client: httpx.Client, good_row: dict[str, object], scrape: Scrape
) -> None:
    row = {key: value for key, value in good_row.items() if key != "support_calls"}
    response = client.post("/predict", json={"features": row})
    assert response.status_code == 400
    assert "missing feature 'support_calls'" in response.json()["error"]
    assert scrape("model_requests_total", version="v2", code="400") == 1.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"[1, 2]", "request body must be a JSON object, got list"),
        (b'{"rows": []}', "request body has neither 'features' nor 'instances'"),
        (b'{"instances": []}', "'instances' must be a non-empty list of objects"),
        (b'{"features": {"age": true}}', "missing feature 'tenure_months'"),
    ],
)
def test_bad_bodies_are_400(client: httpx.Client, body: bytes, message: str) -> None:
    response = client.post("/predict", content=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_fault_rate_one_fails_everything_and_is_counted(
    client: httpx.Client,
    good_row: dict[str, object],
    capture_path: Path,
    scrape_value: Callable[..., float | None],
) -> None:
    assert client.post("/predict", json={"features": good_row}).status_code == 200
    response = client.post("/admin/fault", json={"version": "v2", "error_rate": 1.0})
    assert response.status_code == 200
    assert response.json()["error_rates"] == {"v1": 0.0, "v2": 1.0}
    for _ in range(5):
        failed = client.post("/predict", json={"features": good_row})
        assert failed.status_code == 500
        assert failed.json() == {"error": "injected fault"}

    text = client.get("/metrics").text
    labels = {"model": MODEL_NAME, "version": "v2"}
    assert scrape_value(text, "model_requests_total", code="500", **labels) == 5.0
    assert scrape_value(text, "model_requests_total", code="200", **labels) == 1.0
    assert scrape_value(text, "model_predictions_total", **labels) == 1.0
    assert scrape_value(text, "model_request_duration_seconds_count", **labels) == 6.0
    assert scrape_value(text, "model_request_duration_seconds_bucket", le="2.5", **labels) == 6.0
    assert len(capture_path.read_text().splitlines()) == 1  # faults are not predictions


def test_fault_rate_half_fails_some(client: httpx.Client, good_row: dict[str, object]) -> None:
    client.post("/admin/fault", json={"version": "v2", "error_rate": 0.5})
    codes = [client.post("/predict", json={"features": good_row}).status_code for _ in range(60)]
    assert 10 < codes.count(500) < 50
    assert codes.count(200) == 60 - codes.count(500)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"version": "v2", "error_rate": 1.5}, 400, "'error_rate' must be between 0 and 1"),
        ({"version": "v2", "error_rate": True}, 400, "'error_rate' must be a number"),
        ({"version": "v2"}, 400, "'error_rate' must be a number"),
        ({"error_rate": 0.1}, 400, "'version' must be a string"),
        ({"version": "v9", "error_rate": 0.1}, 404, "known versions: v1, v2"),
    ],
)
def test_fault_validation(
    client: httpx.Client, body: dict[str, object], status: int, message: str
) -> None:
    response = client.post("/admin/fault", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/admin/state").json()["error_rates"] == {"v1": 0.0, "v2": 0.0}


def test_deploy_switches_version_label(
    client: httpx.Client, good_row: dict[str, object], scrape: Scrape
) -> None:
    assert scrape("model_info", version="v2") == 1.0
    assert scrape("model_info", version="v1") is None
    client.post("/predict", json={"features": good_row})

    response = client.post("/admin/deploy", json={"version": "v1"})
    assert response.status_code == 200
    assert response.json()["production"] == "v1"
    assert response.json()["previous"] == "v2"
    served = client.post("/predict", json={"features": good_row}).json()
    assert served["version"] == "v1"

    assert scrape("model_info", version="v1") == 1.0
    assert scrape("model_info", version="v2") is None
    assert scrape("model_requests_total", version="v1", code="200") == 1.0
    assert scrape("model_requests_total", version="v2", code="200") == 1.0
    assert client.get("/admin/state").json() == {
        "model": MODEL_NAME,
        "production": "v1",
        "versions": ["v1", "v2"],
        "error_rates": {"v1": 0.0, "v2": 0.0},
    }


def test_deploy_unknown_version_is_404(client: httpx.Client) -> None:
    response = client.post("/admin/deploy", json={"version": "v3"})
    assert response.status_code == 404
    assert response.json()["error"] == "version 'v3' is not loaded; known versions: v1, v2"
    assert client.get("/admin/state").json()["production"] == "v2"


def test_fault_applies_to_one_version_only(
    client: httpx.Client, good_row: dict[str, object]
) -> None:
    client.post("/admin/fault", json={"version": "v2", "error_rate": 1.0})
    assert client.post("/predict", json={"features": good_row}).status_code == 500
    client.post("/admin/deploy", json={"version": "v1"})
    assert client.post("/predict", json={"features": good_row}).status_code == 200


def test_capture_lines(
    client: httpx.Client, good_row: dict[str, object], capture_path: Path
) -> None:
    single = client.post("/predict", json={"features": good_row}).json()
    batch = client.post("/predict", json={"instances": [good_row, good_row]}).json()
    client.post("/predict", json={"features": {"age": 3}})  # 400, not captured
    records = [json.loads(line) for line in capture_path.read_text().splitlines()]
    assert len(records) == 3
    first = records[0]
    assert set(first) == {"request_id", "time", "model", "version", "input", "output", "status"}
    assert first["request_id"] == single["request_id"]
    assert first["model"] == MODEL_NAME and first["version"] == "v2" and first["status"] == 200
    assert first["input"] == good_row
    assert first["output"] == {"probability": single["predictions"][0]}
    assert datetime.fromisoformat(first["time"]).utcoffset() == UTC.utcoffset(None)
    assert [r["request_id"] for r in records[1:]] == [
        f"{batch['request_id']}-0",
        f"{batch['request_id']}-1",
    ]


def test_capture_is_thread_safe(
    client: httpx.Client, server: ModelServer, good_row: dict[str, object], capture_path: Path
) -> None:
    def call(i: int) -> int:
        row = {**good_row, "age": 20 + i}
        with httpx.Client(base_url=server.url, timeout=5.0) as own:
            return own.post("/predict", json={"instances": [row, row]}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(call, range(40))) == [200] * 40
    records = [json.loads(line) for line in capture_path.read_text().splitlines()]
    assert len(records) == 80
    assert sorted(r["input"]["age"] for r in records) == sorted([20 + i for i in range(40)] * 2)


def test_misc_endpoints(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    assert client.get("/nope").status_code == 404
    assert client.get("/predict").status_code == 405
    assert client.post("/metrics", json={}).status_code == 405
    assert "text/plain" in client.get("/metrics").headers["content-type"]


def test_cli_rejects_bad_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        serve.main(["--model", "m", "--version", f"v1={tmp_path}", "--port", "0"])
    assert exc_info.value.code == 2
    assert f"error: --version v1={tmp_path}: {tmp_path / 'meta.json'} does not exist" in (
        capsys.readouterr().err
    )


def test_cli_unknown_production(
    trained_v1: TrainResult, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model", "m", "--version", f"v1={trained_v1.out_dir}", "--production", "v2"]
    with pytest.raises(SystemExit) as exc_info:
        serve.main(argv)
    assert exc_info.value.code == 2
    assert "error: --production 'v2' is not a --version; known: v1" in capsys.readouterr().err


def test_cli_process_prints_url_and_stops_on_sigterm(trained_v1: TrainResult) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "trainers.serve", "--model", "churn", "--port", "0"]
        + ["--version", f"v1={trained_v1.out_dir}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ")
        assert httpx.get(f"{url}/healthz", timeout=5).text == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
