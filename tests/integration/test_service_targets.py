"""A running service with a malformed, a hung and a refused target keeps going and says why.

The targets are real loopback HTTP servers; the service is the real uvicorn app.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.matchers import parse_selector
from monitor.demo.processes import free_port
from monitor.service.assembly import Watchkeeper
from monitor.service.server import Server

GOOD_BODY = b"# TYPE req_total counter\nreq_total{code=\"200\"} 5\n"
BAD_BODY = b"# TYPE req_total counter\nreq_total{code=200} 5\n"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/hang/metrics":
            time.sleep(2.0)
        body = BAD_BODY if self.path == "/bad/metrics" else GOOD_BODY
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def exporter() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/metrics"


def test_bad_targets_are_down_with_reasons_and_the_service_keeps_running(
        tmp_path: Path, exporter: str) -> None:
    config = tmp_path / "watchkeeper.yaml"
    (tmp_path / "rules").mkdir()
    config.write_text(f"""\
listen: 127.0.0.1:{free_port()}
intervals: {{scrape: 1s, evaluation: 1s}}
scrape: {{timeout: 500ms}}
targets:
  - {{name: good, url: "{exporter}/good/metrics"}}
  - {{name: malformed, url: "{exporter}/bad/metrics"}}
  - {{name: hung, url: "{exporter}/hang/metrics"}}
  - {{name: refused, url: "{_refused_url()}"}}
""")
    server = Server(Watchkeeper.from_file(config))
    server.start()
    try:
        base = server.app.base_url
        deadline = time.monotonic() + 15
        targets: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline and len(targets) < 4:
            data = httpx.get(f"{base}/api/v1/targets", timeout=5).json()["data"]
            targets = {t["name"]: t for t in data}
            time.sleep(0.3)
        assert targets["good"]["up"] is True and targets["good"]["error"] == ""
        assert targets["malformed"]["up"] is False
        assert str(targets["malformed"]["error"]).startswith("invalid exposition at line 2")
        assert targets["hung"]["error"] == "timed out after 500ms"
        assert targets["refused"]["error"] == "connection refused"

        time.sleep(1.5)  # another round of scrapes: the service is still running
        assert httpx.get(f"{base}/healthz", timeout=5).text == "ok"
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        up = {s.labels["target"]: s.value for s in families["watchkeeper_target_up"].samples}
        assert up == {"good": 1.0, "malformed": 0.0, "hung": 0.0, "refused": 0.0}
        reasons = {s.labels["target"]: s.labels["reason"]
                   for s in families["watchkeeper_target_down_info"].samples}
        assert reasons["hung"] == "timed out after 500ms"
        assert reasons["refused"] == "connection refused"
        stored = server.app.samples.latest(parse_selector('req_total{job="good"}'),
                                           server.app.clock.now())
        assert [v for _, v in stored] == [5.0]
    finally:
        server.stop()
