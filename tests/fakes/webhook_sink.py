"""A loopback receiver of Alertmanager's webhook JSON, and the base of the HTTP stand-ins."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

__all__ = ["Answer", "FakeWebhookSink", "LoopbackAPI", "RecordedRequest"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """One request a stand-in received; header names are lower case."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body decoded as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """What a stand-in answers: status, body, content type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: object, **headers: str) -> Answer:
        """Return a JSON answer."""
        return cls(status=status, body=json.dumps(data).encode(),
                   content_type="application/json", headers=headers)

    @classmethod
    def text(cls, status: int, text: str, **headers: str) -> Answer:
        """Return a plain-text answer."""
        return cls(status=status, body=text.encode(), headers=headers)


@dataclass(frozen=True, slots=True)
class _Slow:
    seconds: float


class LoopbackAPI:
    """An HTTP server on 127.0.0.1 and a free port, in a thread, that records every request.

    Subclasses answer in :meth:`answer`. The switches make the next requests misbehave
    the way real services do: :meth:`rate_limit_next` (429 with ``Retry-After``),
    :meth:`server_error_next`, :meth:`queue` (any answer, e.g. a 400 with the real body
    shape), :meth:`slow_next` (answer only after a delay, so clients time out; the
    request still takes effect, as a slow server's would) and :meth:`go_down`.
    """

    thread_name = "fake-http"

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._queued: list[Answer | _Slow] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Self:
        """Listen on a free loopback port (the same one again after :meth:`go_down`)."""
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._closing.clear()
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,),
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening; connections are refused until :meth:`start`."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def go_down(self) -> None:
        """Stop answering: connections are refused."""
        self.close()

    def come_back(self) -> None:
        """Answer again on the same port."""
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def queue(self, n: int, answer: Answer) -> None:
        """Answer the next *n* requests with *answer*."""
        with self._lock:
            self._queued.extend([answer] * n)

    def rate_limit_next(self, n: int = 1, *, retry_after: int | str | None = 1) -> None:
        """Answer the next *n* requests with 429, and ``Retry-After`` unless None."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.queue(n, self.rate_limited(headers))

    def server_error_next(self, n: int = 1, *, status: int = 500) -> None:
        """Answer the next *n* requests with *status*."""
        self.queue(n, self.server_error(status))

    def slow_next(self, n: int = 1, *, seconds: float = 2.0) -> None:
        """Answer the next *n* requests only after *seconds*."""
        with self._lock:
            self._queued.extend([_Slow(seconds)] * n)

    def rate_limited(self, headers: Mapping[str, str]) -> Answer:
        """Return this service's 429 answer."""
        return Answer.text(429, "Too Many Requests", **headers)

    def server_error(self, status: int) -> Answer:
        """Return this service's answer for a server error *status*."""
        return Answer(status=status, body=b"<html><body>Internal Server Error</body></html>",
                      content_type="text/html")

    def answer(self, request: RecordedRequest) -> Answer:
        """Answer one well-behaved request."""
        raise NotImplementedError

    def dispatch(self, request: RecordedRequest) -> Answer:
        """Record *request* and answer it, misbehaving if told to."""
        with self._lock:
            self.requests.append(request)
            queued = self._queued.pop(0) if self._queued else None
        if isinstance(queued, Answer):
            return queued
        if isinstance(queued, _Slow):
            self._closing.wait(queued.seconds)
        return self.answer(request)


def _handler_for(fake: LoopbackAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):  # HTTP/1.0: one request per connection
        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command, path=urlsplit(self.path).path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length))
            answer = fake.dispatch(request)
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    return Handler


class FakeWebhookSink(LoopbackAPI):
    """Receive webhooks the way an endpoint behind Alertmanager's ``webhook_config`` does.

    Stands in for the HTTP services Alertmanager's webhook receiver posts to (chat
    bridges, ticketing adapters, ``alertmanager-webhook-logger``): POST JSON to
    :attr:`endpoint`, answered ``200`` with an empty body. With *bearer_token*, a
    request without ``Authorization: Bearer <token>`` gets ``401``. Bodies that are not
    JSON get ``400``; other paths ``404``. Accepted bodies are kept in :attr:`messages`.
    """

    thread_name = "fake-webhook-sink"

    def __init__(self, *, bearer_token: str | None = None, path: str = "/alerts") -> None:
        super().__init__()
        self.bearer_token, self.path = bearer_token, path
        self.messages: list[Any] = []

    @property
    def endpoint(self) -> str:
        """Return the URL to post to."""
        return self.url + self.path

    def reject_next(self, n: int = 1, *, status: int = 400, text: str = "bad request") -> None:
        """Answer the next *n* requests with a client error."""
        self.queue(n, Answer.text(status, text))

    def answer(self, request: RecordedRequest) -> Answer:
        """Take a webhook."""
        if request.path != self.path:
            return Answer.text(404, "404 page not found")
        if request.method != "POST":
            return Answer.text(405, "method not allowed")
        if self.bearer_token is not None and \
                request.headers.get("authorization") != f"Bearer {self.bearer_token}":
            return Answer.text(401, "Unauthorized")
        try:
            message = request.json()
        except ValueError:
            return Answer.text(400, "body is not JSON")
        with self._lock:
            self.messages.append(message)
        return Answer(status=200)
