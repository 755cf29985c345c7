"""A scrape round over faulty and healthy loopback targets, stored on both databases."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import monitor.collectors.endpoint as endpoint
from monitor.collectors import ScrapeManager, instance_label
from monitor.config import TargetConfig
from monitor.core.matchers import parse_selector
from monitor.core.model import Labels
from monitor.core.time import FakeClock
from monitor.store import Database, SampleStore, TargetStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=0.3)
TICK = timedelta(seconds=15)

GOOD = b"""# TYPE predictions_total counter
predictions_total{model="churn"} 42
# TYPE inference_seconds histogram
inference_seconds_bucket{le="0.5"} 3
inference_seconds_bucket{le="+Inf"} 4
inference_seconds_sum 1.5
inference_seconds_count 4
"""
# path -> (status, body); None is a handler that hangs past the scrape timeout
ROUTES: dict[str, tuple[int, bytes] | None] = {
    "/good": (200, GOOD),
    "/malformed": (200, b"ok 1\nok 2\nbroken{ 3\n"),
    "/hang": None,
    "/error": (500, b"internal error"),
    "/big": (200, b"x 1\n" * 512),
    "/boom": (200, b"boom 1\n"),
}


class FakeExporters:
    """Loopback stand-ins for Prometheus exporters' ``/metrics`` (text format 0.0.4)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.hits: dict[str, int] = {}
        fakes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fakes.hits[self.path] = fakes.hits.get(self.path, 0) + 1
                route = ROUTES.get(self.path, (404, b""))
                if route is None:
                    fakes.release.wait(10)
                    return
                status, body = route
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,),
                                       daemon=True)
        self.thread.start()

    def target(self, path: str, *, interval: timedelta = TICK, **labels: str) -> TargetConfig:
        url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        return TargetConfig(name=path.strip("/"), url=url, interval=interval, timeout=TIMEOUT,
                            labels=labels)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fakes() -> Iterator[FakeExporters]:
    fake = FakeExporters()
    yield fake
    fake.close()


def refused_target() -> TargetConfig:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return TargetConfig(name="refused", url=f"http://127.0.0.1:{port}/metrics", interval=TICK,
                        timeout=TIMEOUT)


def manager(database: Database, targets: list[TargetConfig], clock: FakeClock,
            concurrency: int = 4) -> ScrapeManager:
    return ScrapeManager(targets, samples=SampleStore(database),
                         targets_store=TargetStore(database), concurrency=concurrency,
                         clock=clock, max_body_bytes=1024)


def test_each_fault_is_reported_while_the_healthy_target_is_stored(
        database: Database, fakes: FakeExporters) -> None:
    good = fakes.target("/good", team="ml")
    targets = [good, fakes.target("/malformed"), fakes.target("/hang"), fakes.target("/error"),
               fakes.target("/big"), refused_target()]
    healths = manager(database, targets, FakeClock(T0)).scrape_all_sync()

    expected = {
        "good": "",
        "malformed": "invalid exposition at line 3: cannot parse 'broken{ 3' "
                     "(could not convert string to float: '{')",
        "hang": "timed out after 300ms",
        "error": f"HTTP 500 from {targets[3].url}",
        "big": "body larger than 1024 bytes",
        "refused": "connection refused",
    }
    assert {h.name: h.error for h in healths} == expected
    stored = {h.name: h for h in TargetStore(database).all()}
    assert {name: (h.up, h.error) for name, h in stored.items()} == {
        name: (not error, error) for name, error in expected.items()}
    assert stored["good"].samples_scraped == 5
    assert stored["good"].last_scrape == T0
    assert stored["good"].duration_seconds < TIMEOUT.total_seconds()  # not held up by "hang"

    samples = SampleStore(database)
    at = T0 + timedelta(seconds=1)
    labels = {"job": "good", "instance": instance_label(good.url), "team": "ml"}
    assert samples.latest(parse_selector("predictions_total"), at) == [
        (Labels({**labels, "model": "churn"}), 42.0)]
    buckets = samples.latest(parse_selector('inference_seconds_bucket{job="good"}'), at)
    assert sorted((lbl["le"], v) for lbl, v in buckets) == [("+Inf", 4.0), ("0.5", 3.0)]
    up = {lbl["job"]: v for lbl, v in samples.latest(parse_selector("up"), at)}
    assert up == {name: (0.0 if error else 1.0) for name, error in expected.items()}
    scraped = samples.latest(parse_selector('scrape_samples_scraped{job="good"}'), at)
    assert scraped == [(Labels(labels), 5.0)]
    assert samples.latest(parse_selector("x"), at) == []  # nothing kept from a rejected body


def test_unexpected_error_costs_only_its_own_target(
        database: Database, fakes: FakeExporters, monkeypatch: pytest.MonkeyPatch) -> None:
    original = endpoint.parse_exposition

    def explode_on_boom(body: bytes) -> list[tuple[str, dict[str, str], float]]:
        if body.startswith(b"boom"):
            raise RuntimeError("parser bug")
        return original(body)

    monkeypatch.setattr(endpoint, "parse_exposition", explode_on_boom)
    healths = manager(database, [fakes.target("/boom"), fakes.target("/good")],
                      FakeClock(T0)).scrape_all_sync()
    assert {h.name: (h.up, h.error) for h in healths} == {
        "boom": (False, "unexpected error: RuntimeError: parser bug"), "good": (True, "")}
    up = SampleStore(database).latest(parse_selector("up"), T0)
    assert {lbl["job"]: v for lbl, v in up} == {"boom": 0.0, "good": 1.0}


def test_per_target_interval_is_honoured(database: Database, fakes: FakeExporters) -> None:
    clock = FakeClock(T0)
    fast = fakes.target("/good")
    slow = fakes.target("/error", interval=timedelta(minutes=1))
    scrapes = manager(database, [fast, slow], clock, concurrency=1)
    rounds = []
    for _ in range(6):  # ticks at 0s, 15s, ..., 75s
        rounds.append(sorted(h.name for h in scrapes.scrape_all_sync()))
        clock.advance(TICK)
    assert rounds == [["error", "good"], ["good"], ["good"], ["good"], ["error", "good"],
                      ["good"]]
    assert fakes.hits == {"/good": 6, "/error": 2}
    assert [t.name for t in scrapes.due(clock.now())] == ["good"]
    assert [t.name for t in scrapes.due(clock.now() + timedelta(seconds=45))] == [
        "good", "error"]
    up = SampleStore(database).select(parse_selector('up{job="error"}'), T0, clock.now())
    assert [p for series in up for p in series.points] == [
        (T0.timestamp(), 0.0), ((T0 + timedelta(minutes=1)).timestamp(), 0.0)]


def test_manager_rejects_bad_arguments(database: Database) -> None:
    clock = FakeClock(T0)
    target = refused_target()
    with pytest.raises(ValueError, match="concurrency must be at least 1, got 0"):
        manager(database, [target], clock, concurrency=0)
    with pytest.raises(ValueError, match=r"duplicate target names \['refused'\]"):
        manager(database, [target, target], clock)
