"""Fakes for remediation tests: a model deploy hook served on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class DeployCall:
    """One request the fake deploy hook received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeDeployServer:
    """Stands in for the demo model server's ``POST /admin/deploy`` (trainers/serve.py).

    It answers ``status`` with ``answer`` as JSON, records every call, and holds its
    answer while ``hold`` is set, to make a client time out.
    """

    status: int = 200
    answer: dict[str, Any] = field(default_factory=lambda: {"serving": "ok"})
    calls: list[DeployCall] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        """Return the deploy hook URL."""
        return f"http://127.0.0.1:{self.port}/admin/deploy"


def _handler(fake: FakeDeployServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.calls.append(DeployCall(path=self.path, headers=dict(self.headers), body=body))
            if fake.hold.is_set():
                fake.release.wait(5)
            payload = json.dumps(fake.answer).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def deploy_server() -> Iterator[FakeDeployServer]:
    """Serve a fake deploy hook on 127.0.0.1 and a free port, in a thread."""
    fake = FakeDeployServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
