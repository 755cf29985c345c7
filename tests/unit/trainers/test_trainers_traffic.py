"""Tests for the traffic generator against an in-process model server."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from trainers import traffic
from trainers.serve import ModelServer
from trainers.traffic import predict_url, run_traffic

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_counts_200s_and_500s(server: ModelServer, scrape: Callable[..., float | None]) -> None:
    server.set_error_rate("v2", 0.5)
    stats = run_traffic(server.url, 500.0, threading.Event(), duration=20.0, max_requests=40)
    assert stats.sent == 40
    assert stats.ok + stats.server_errors == 40
    assert 5 < stats.server_errors < 35
    assert stats.client_errors == 0 and stats.connection_errors == 0
    assert stats.by_status == {"200": stats.ok, "500": stats.server_errors}
    assert scrape("model_requests_total", version="v2", code="200") == stats.ok
    assert scrape("model_requests_total", version="v2", code="500") == stats.server_errors


def test_all_500_at_full_fault_rate(server: ModelServer) -> None:
    server.set_error_rate("v2", 1.0)
    stats = run_traffic(server.url, 500.0, threading.Event(), duration=20.0, max_requests=15)
    assert (stats.sent, stats.ok, stats.server_errors) == (15, 0, 15)


def test_connection_refused_is_counted() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stats = run_traffic(
        f"http://127.0.0.1:{port}", 200.0, threading.Event(), duration=20.0, max_requests=5
    )
    assert stats.sent == 5
    assert stats.connection_errors == 5
    assert stats.ok == 0


def test_duration_bound(server: ModelServer) -> None:
    stats = run_traffic(server.url, 20.0, threading.Event(), duration=0.5)
    assert 0.4 < stats.duration_seconds < 2.0
    assert 5 <= stats.sent <= 12
    assert stats.ok == stats.sent


def test_stop_event_ends_unbounded_run(server: ModelServer) -> None:
    stop = threading.Event()
    timer = threading.Timer(0.4, stop.set)
    timer.start()
    started = time.monotonic()
    stats = run_traffic(server.url, 10.0, stop, duration=None)
    timer.cancel()
    assert time.monotonic() - started < 2.0
    assert 2 <= stats.sent <= 8


def test_predict_url() -> None:
    assert predict_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/predict"
    assert predict_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/predict"
    assert predict_url("http://h:1/v1/predict") == "http://h:1/v1/predict"
    with pytest.raises(ValueError, match="--url 'localhost:8080' must be an http"):
        predict_url("localhost:8080")
    with pytest.raises(ValueError, match="--rps must be a positive number"):
        run_traffic("http://127.0.0.1:1", 0.0, threading.Event(), duration=1.0)


def test_cli_summary(server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--url", server.url, "--rps", "300", "--max-requests", "6"]
    assert traffic.main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("sent=6 ok=6 4xx=0 5xx=0 connection_errors=0 duration=")


def test_cli_rejects_bad_rps(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        traffic.main(["--url", "http://127.0.0.1:1", "--rps", "-1"])
    assert exc_info.value.code == 2
    assert "error: --rps must be a positive number, got -1.0" in capsys.readouterr().err


def test_cli_process_stops_cleanly_on_sigterm(
    server: ModelServer, scrape: Callable[..., float | None]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "trainers.traffic", "--url", server.url, "--rps", "20"]
        + ["--duration", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while (scrape("model_requests_total", code="200") or 0) < 3:
            assert time.monotonic() < deadline, "the traffic process sent no requests"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stdout.startswith("sent=")
    assert " 5xx=0 connection_errors=0 " in stdout
