"""One endpoint scrape against loopback servers: samples, labels, and every way a target fails."""

from __future__ import annotations

import asyncio
import gzip
import math
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from monitor.collectors import (
    DEFAULT_MAX_BODY_BYTES,
    EndpointCollector,
    ScrapeResult,
    instance_label,
    parse_exposition,
)
from monitor.config import TargetConfig
from monitor.core.model import Labels, Sample

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=0.3)

GOOD = b"""# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027 1395066363000
http_requests_total{code="500",method="get"} 3
# TYPE queue_depth gauge
queue_depth 4.5
queue_depth_nan NaN
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 2
latency_seconds_bucket{le="+Inf"} 5
latency_seconds_sum 1.25
latency_seconds_count 5
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """What the fake endpoint answers on one path."""

    body: bytes = b""
    status: int = 200
    hang: bool = False
    content_length: bool = True
    headers: dict[str, str] = field(default_factory=dict)


class FakeExporter:
    """A loopback stand-in for a Prometheus exporter's ``/metrics`` (text format 0.0.4)."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.release = threading.Event()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path, Route(status=404))
                if route.hang:
                    exporter.release.wait(10)
                    return
                try:
                    self.send_response(route.status)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    if route.content_length:
                        self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except OSError:
                    pass  # the scraper gave up first

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,),
                                       daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def exporter() -> Iterator[FakeExporter]:
    big = b"# TYPE big gauge\n" + b"".join(b"big{i=\"%d\"} 1\n" % i for i in range(200))
    fake = FakeExporter({
        "/metrics": Route(body=GOOD),
        "/malformed": Route(body=b"# TYPE a gauge\na 1\na{x=unquoted} 2\n"),
        "/latin1": Route(body=b"a 1\nb{x=\"caf\xe9\"} 2\n"),
        "/hang": Route(hang=True),
        "/error": Route(status=500, body=b"boom"),
        "/big": Route(body=big),
        "/big-streamed": Route(body=big, content_length=False),
        "/big-gzip": Route(body=gzip.compress(big), headers={"Content-Encoding": "gzip"}),
        "/moved": Route(status=302, headers={"Location": "/metrics"}),
        "/conflict": Route(body=b'm{job="app",instance="pod-1",env="",exported_job="x"} 1\n'),
        "/bare-counter": Route(body=b"# TYPE hits counter\nhits 3\n"),
    })
    yield fake
    fake.close()


def target(url: str, **labels: str) -> TargetConfig:
    return TargetConfig(name="model-a", url=url, interval=timedelta(seconds=15), timeout=TIMEOUT,
                        labels=labels)


def scrape(url: str, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, **labels: str) -> ScrapeResult:
    collector = EndpointCollector(target(url, **labels), max_body_bytes=max_body_bytes)
    return asyncio.run(collector.scrape(NOW))


def by_metric(samples: tuple[Sample, ...]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for sample in samples:
        out.setdefault(sample.metric, []).append(sample)
    return out


def test_good_exposition_gives_every_sample_with_target_labels(exporter: FakeExporter) -> None:
    url = exporter.url("/metrics")
    result = scrape(url, team="ml")
    base = {"job": "model-a", "instance": instance_label(url), "team": "ml"}
    got = {(s.metric, s.labels, s.value) for s in result.samples
           if s.metric != "scrape_duration_seconds"}
    assert got == {
        ("http_requests_total", Labels({**base, "code": "200", "method": "get"}), 1027.0),
        ("http_requests_total", Labels({**base, "code": "500", "method": "get"}), 3.0),
        ("queue_depth", Labels(base), 4.5),
        ("latency_seconds_bucket", Labels({**base, "le": "0.1"}), 2.0),
        ("latency_seconds_bucket", Labels({**base, "le": "+Inf"}), 5.0),
        ("latency_seconds_sum", Labels(base), 1.25),
        ("latency_seconds_count", Labels(base), 5.0),
        ("up", Labels(base), 1.0),
        ("scrape_samples_scraped", Labels(base), 8.0),  # the NaN sample was scraped, not kept
    }
    assert {s.timestamp for s in result.samples} == {NOW}  # exposition timestamps ignored
    assert not any(math.isnan(s.value) for s in result.samples)
    health = result.health
    assert (health.name, health.url, health.up, health.error) == ("model-a", url, True, "")
    assert (health.samples_scraped, health.last_scrape) == (8, NOW)
    (duration,) = by_metric(result.samples)["scrape_duration_seconds"]
    assert duration.value == health.duration_seconds
    assert 0 < health.duration_seconds < TIMEOUT.total_seconds()


def test_clashing_scraped_labels_are_exported_and_empty_ones_dropped(
        exporter: FakeExporter) -> None:
    url = exporter.url("/conflict")
    (sample,) = by_metric(scrape(url, env="prod").samples)["m"]
    assert sample.labels == Labels({
        "job": "model-a", "instance": instance_label(url), "env": "prod",
        # Prometheus keeps an exposed exported_job and prefixes the clashing job again
        "exported_job": "x", "exported_exported_job": "app", "exported_instance": "pod-1",
    })


def test_counter_without_total_suffix_keeps_its_exposed_name(exporter: FakeExporter) -> None:
    names = {s.metric for s in scrape(exporter.url("/bare-counter")).samples}
    assert "hits" in names
    assert "hits_total" not in names


def test_redirect_is_followed(exporter: FakeExporter) -> None:
    result = scrape(exporter.url("/moved"))
    assert result.health.up
    assert "queue_depth" in by_metric(result.samples)


@pytest.fixture
def refused() -> Iterator[str]:
    """Yield a URL whose port is bound but not listening, so connecting is refused.

    Holding the socket for the whole test keeps another server from taking the port.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/metrics"


@pytest.mark.parametrize(("path", "max_body_bytes", "reason"), [
    ("/malformed", DEFAULT_MAX_BODY_BYTES,
     "invalid exposition at line 3: cannot parse 'a{x=unquoted} 2' (Invalid labels: x=unquoted)"),
    ("/latin1", DEFAULT_MAX_BODY_BYTES,
     "invalid exposition at line 2: not valid UTF-8 (byte offset 12)"),
    ("/hang", DEFAULT_MAX_BODY_BYTES, "timed out after 300ms"),
    ("/error", DEFAULT_MAX_BODY_BYTES, "HTTP 500 from {url}"),
    ("/nowhere", DEFAULT_MAX_BODY_BYTES, "HTTP 404 from {url}"),
    ("/big", 1024, "body larger than 1024 bytes"),
    ("/big-streamed", 1024, "body larger than 1024 bytes"),
    ("/big-gzip", 1024, "body larger than 1024 bytes"),
    ("refused", DEFAULT_MAX_BODY_BYTES, "connection refused"),
])
def test_failed_scrape_marks_target_down_with_reason(
        exporter: FakeExporter, refused: str, path: str, max_body_bytes: int,
        reason: str) -> None:
    url = refused if path == "refused" else exporter.url(path)
    result = scrape(url, max_body_bytes=max_body_bytes)
    assert (result.health.up, result.health.error) == (False, reason.replace("{url}", url))
    assert result.health.samples_scraped == 0
    values = {s.metric: s.value for s in result.samples}
    assert set(values) == {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
    assert (values["up"], values["scrape_samples_scraped"]) == (0.0, 0.0)


def test_password_in_url_is_never_reported(exporter: FakeExporter) -> None:
    url = exporter.url("/error").replace("http://", "http://scraper:s3cret@")
    result = scrape(url)
    shown = url.replace("s3cret", "***")
    assert (result.health.url, result.health.error) == (shown, f"HTTP 500 from {shown}")


def test_timeout_bounds_the_scrape(exporter: FakeExporter) -> None:
    result = scrape(exporter.url("/hang"))
    assert 0.9 * TIMEOUT.total_seconds() <= result.health.duration_seconds < 2


def test_shared_client_is_used_and_left_open(exporter: FakeExporter) -> None:
    async def twice() -> list[bool]:
        async with httpx.AsyncClient() as client:
            collector = EndpointCollector(target(exporter.url("/metrics")), client=client)
            results = [await collector.scrape(NOW), await collector.scrape(NOW)]
            assert not client.is_closed
            return [r.health.up for r in results]

    assert asyncio.run(twice()) == [True, True]


def test_collect_runs_a_scrape_for_the_protocol(exporter: FakeExporter, refused: str) -> None:
    samples = EndpointCollector(target(exporter.url("/metrics"))).collect(NOW)
    assert {s.metric for s in samples} >= {"up", "queue_depth", "http_requests_total"}
    down = EndpointCollector(target(refused)).collect(NOW)
    assert [s.value for s in down if s.metric == "up"] == [0.0]


def test_max_body_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_body_bytes must be at least 1, got 0"):
        EndpointCollector(target("http://127.0.0.1:1/metrics"), max_body_bytes=0)


@pytest.mark.parametrize(("url", "instance"), [
    ("http://127.0.0.1:9100/metrics", "127.0.0.1:9100"),
    ("http://Model.example/metrics", "Model.example:80"),
    ("https://model.example/metrics", "model.example:443"),
    ("http://user:pw@model.example:8080/m", "model.example:8080"),
    ("http://[::1]:9100/metrics", "[::1]:9100"),
    ("http://[::1]/metrics", "[::1]:80"),
])
def test_instance_label_is_host_and_port(url: str, instance: str) -> None:
    assert instance_label(url) == instance


def test_parse_exposition_names_the_bad_line_and_keeps_exposed_names() -> None:
    assert parse_exposition(b"# TYPE c counter\nc_total{a=\"1\"} 2 123\n") == [
        ("c_total", {"a": "1"}, 2.0)]
    with pytest.raises(ValueError,
                       match=r"^invalid exposition at line 2: cannot parse '# TYPE x'$"):
        parse_exposition(b"ok 1\n# TYPE x\n")
    with pytest.raises(ValueError, match="at line 3: cannot parse 'x y'"):
        parse_exposition(b"a 1\n\nx y\n")
