"""The PromQL SLI source against a stand-in for Prometheus' query API and against the real one."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from monitor.core.matchers import parse_selector
from monitor.slo.promql import PromQLSLISource, promql_duration
from monitor.slo.sli import GaugeStats, SLISource, SLISourceError

AT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000
ERRORS = parse_selector('http_requests_total{code=~"5.."}')


def _vector(*items: tuple[dict[str, str], str]) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": metric, "value": [1700000000.123, value]} for metric, value in items]}}


class FakePrometheus:
    """Stands in for Prometheus' ``/api/v1/query`` (HTTP API v1), answering recorded shapes.

    ``answers`` maps a query to ``(status code, body)``; an unknown query gets an empty vector,
    as Prometheus answers a selector matching nothing. ``delay`` makes every answer late.
    """

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.queries: list[dict[str, str]] = []
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.queries.append({"path": self.path, **form})
                time.sleep(fake.delay)
                status, body = fake.answers.get(form.get("query", ""), (
                    200, json.dumps(_vector()).encode()))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/prom/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, query: str, body: dict[str, object], status: int = 200) -> None:
        self.answers[query] = (status, json.dumps(body).encode())


@pytest.fixture
def prom() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def source(prom: FakePrometheus) -> Iterator[PromQLSLISource]:
    src = PromQLSLISource(prom.url, timeout=2.0)
    yield src
    src.close()


def test_increase_is_one_instant_query_at_the_moment(prom: FakePrometheus,
                                                     source: PromQLSLISource) -> None:
    query = 'sum(increase(http_requests_total{code=~"5.."}[300s]))'
    prom.answer(query, _vector(({}, "0.5")))
    assert isinstance(source, SLISource)
    assert source.increase(ERRORS, timedelta(minutes=5), AT) == 0.5
    assert prom.queries == [{"path": "/prom/api/v1/query", "query": query,
                             "time": "1700000000.000"}]


def test_empty_results_are_no_data(source: PromQLSLISource) -> None:
    assert source.increase(ERRORS, timedelta(days=30), AT) is None
    assert source.gauge(parse_selector("up"), timedelta(days=30), AT) is None
    assert source.label_values(ERRORS, "code", timedelta(hours=1), AT) == set()


def test_gauge_counts_raw_samples_and_scales_the_positive_share(
        prom: FakePrometheus, source: PromQLSLISource) -> None:
    prom.answer('sum(count_over_time(up{job="api"}[86400s]))', _vector(({}, "5760")))
    prom.answer('sum(sum_over_time(up{job="api"}[86400s]))', _vector(({}, "5700")))
    prom.answer('sum(count_over_time((up{job="api"})[86400s:60s]))', _vector(({}, "1440")))
    prom.answer('sum(count_over_time((up{job="api"} > 0)[86400s:60s]))',
                _vector(({}, "1425")))
    got = source.gauge(parse_selector('up{job="api"}'), timedelta(days=1), AT)
    assert got == GaugeStats(count=5760, total=5700.0, positive=5700)


def test_label_values_group_by_the_label(prom: FakePrometheus, source: PromQLSLISource) -> None:
    prom.answer('count by (code) (last_over_time(http_requests_total{code=~"5.."}[3600s]))',
                _vector(({"code": "500"}, "3"), ({"code": "503"}, "1"), ({}, "2")))
    assert source.label_values(ERRORS, "code", timedelta(hours=1), AT) == {"500", "503"}


def test_prometheus_errors_name_the_url_query_and_reason(prom: FakePrometheus,
                                                         source: PromQLSLISource) -> None:
    query = 'sum(increase(http_requests_total{code=~"5.."}[300s]))'
    prom.answer(query, {"status": "error", "errorType": "execution",
                        "error": "query processing would load too many samples"}, status=422)
    with pytest.raises(SLISourceError) as caught:
        source.increase(ERRORS, timedelta(minutes=5), AT)
    assert str(caught.value) == (
        f"Prometheus {prom.url.rstrip('/')}: query {query!r}: execution: query processing "
        "would load too many samples (HTTP 422)")


def test_http_failures_and_odd_answers_are_reported(prom: FakePrometheus,
                                                    source: PromQLSLISource) -> None:
    query = 'sum(increase(http_requests_total{code=~"5.."}[60s]))'
    prom.answers[query] = (502, b"<html>Bad Gateway</html>")
    with pytest.raises(SLISourceError, match=r"\[60s\]\)\)': HTTP 502: <html>Bad Gateway"):
        source.increase(ERRORS, timedelta(minutes=1), AT)
    prom.answer(query, {"status": "success", "data": {"resultType": "matrix", "result": []}})
    with pytest.raises(SLISourceError, match="expected a vector result, got resultType 'matrix'"):
        source.increase(ERRORS, timedelta(minutes=1), AT)
    prom.answer(query, _vector(({}, "many")))
    with pytest.raises(SLISourceError, match=r"unreadable sample value \[1700000000.123, 'many'\]"):
        source.increase(ERRORS, timedelta(minutes=1), AT)


def test_timeouts_and_refused_connections_are_reported(prom: FakePrometheus) -> None:
    prom.delay = 1.0
    with PromQLSLISource(prom.url, timeout=0.2) as slow, pytest.raises(
            SLISourceError, match=r"no answer within 0.2s; raise the timeout"):
        slow.increase(ERRORS, timedelta(minutes=1), AT)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with PromQLSLISource(f"http://127.0.0.1:{port}") as closed, pytest.raises(
            SLISourceError, match=rf"Prometheus http://127.0.0.1:{port}: query .*: cannot reach "
                                  "Prometheus .*check the url and that Prometheus is running"):
        closed.increase(ERRORS, timedelta(minutes=1), AT)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="must start with http:// or https://, got 'prom:9090'"):
        PromQLSLISource("prom:9090")
    with pytest.raises(ValueError, match="timeout must be > 0 seconds, got 0"):
        PromQLSLISource("http://prom:9090", timeout=0)
    with pytest.raises(ValueError, match="window must be positive"):
        promql_duration(timedelta(0))
    assert promql_duration(timedelta(minutes=90, milliseconds=5)) == "5400005ms"


# -- real Prometheus ---------------------------------------------------------------------
def _prometheus() -> str:
    path = shutil.which("prometheus")
    if path:
        return path
    message = "prometheus is not installed; run tests/install-components.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class _Exporter(BaseHTTPRequestHandler):
    """A loopback ``/metrics``: a request counter growing by 10 (1 error) per scrape."""

    scrapes = 0

    def do_GET(self) -> None:
        _Exporter.scrapes += 1
        n = _Exporter.scrapes
        body = ("# TYPE demo_requests_total counter\n"
                f'demo_requests_total{{code="200"}} {9 * n}\n'
                f'demo_requests_total{{code="500"}} {n}\n'
                "# TYPE demo_ready gauge\n"
                f"demo_ready {n % 2}\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def real_prometheus(tmp_path: Path) -> Iterator[str]:
    """Run Prometheus scraping a loopback exporter every second; yield its URL."""
    binary = _prometheus()
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n"
                      "    static_configs:\n      - targets: "
                      f"['127.0.0.1:{exporter.server_address[1]}']\n", encoding="utf-8")
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen([binary, f"--config.file={config}",
                                f"--web.listen-address=127.0.0.1:{port}",
                                f"--storage.tsdb.path={tmp_path / 'data'}", "--log.level=warn"],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while _Exporter.scrapes < 6:  # ready, then a few scrapes
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Prometheus did not scrape the exporter: "
                            + (tmp_path / "prometheus.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        exporter.shutdown()
        exporter.server_close()


def test_against_real_prometheus(real_prometheus: str) -> None:
    at = datetime.now(UTC)
    window = timedelta(minutes=1)
    with httpx.Client() as client:
        source = PromQLSLISource(real_prometheus, client=client)
        errors = source.increase(parse_selector('demo_requests_total{code="500"}'), window, at)
        total = source.increase(parse_selector("demo_requests_total"), window, at)
        assert errors is not None and total is not None
        assert errors > 0
        assert errors / total == pytest.approx(0.1)  # 1 in 10 per scrape, extrapolated alike
        ready = source.gauge(parse_selector('demo_ready{job="demo"}'), window, at)
        assert ready is not None and ready.count >= 4
        assert ready.total == pytest.approx(ready.count / 2, abs=1)
        assert source.label_values(parse_selector("demo_requests_total"), "code", window,
                                   at) == {"200", "500"}
        assert source.increase(parse_selector("absent_total"), window, at) is None
        with pytest.raises(SLISourceError, match="bad_data: .*parse error"):
            source.label_values(parse_selector("demo_requests_total"), "bad-label", window, at)
