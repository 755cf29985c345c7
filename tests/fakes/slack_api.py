"""A loopback stand-in for Slack's Web API (https://slack.com/api/) and incoming webhooks."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

__all__ = ["WEBHOOK_METHOD", "FakeSlackAPI", "SlackCall"]

_TEAM_ID, _BOT_USER, _BOT_ID = "T0WATCHKP", "U0WATCHKP", "B0WATCHKP"
WEBHOOK_METHOD = "incoming-webhook"
"""The ``method`` of recorded incoming-webhook posts."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackCall:
    """One request the fake received: the Web API method and its decoded arguments."""

    method: str
    params: Mapping[str, object]
    content_type: str
    authorized: bool


@dataclass(slots=True, kw_only=True)
class _Failure:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    webhook_body: bytes | None = None  # what an incoming webhook answers instead
    delay: float = 0.0  # answer normally, but only after this many seconds


class FakeSlackAPI:
    """Answer like Slack's Web API on 127.0.0.1, in a thread.

    Pass ``base_url=fake.api_url`` (``fake.url + "/api/"``) to ``slack_sdk.WebClient``.
    Requests carry the bot token as ``Authorization: Bearer …`` (or a ``token``
    argument); a wrong one gets ``invalid_auth``, none ``not_authed``. Channels are
    known by ID or by name; others get ``channel_not_found``. Every call is recorded
    in :attr:`calls`; posted and updated messages are kept in :attr:`messages`.
    :meth:`rate_limit_next`, :meth:`server_error_next`, :meth:`slow_next` and
    :meth:`go_down` make it misbehave the way the real one sometimes does.

    It also answers like an incoming webhook (https://hooks.slack.com/services/…) at
    :attr:`webhook_url`, posting to ``#alerts``: ``200 ok``, or Slack's plain-text errors
    (``invalid_payload``, ``no_text``; ``no_service`` for an unknown webhook path).
    :meth:`webhook_error_next` queues one of the others; the switches above apply too.
    Posts are recorded in :attr:`calls` with method ``incoming-webhook``.
    """

    def __init__(self, *, token: str = "xoxb-fake-0000-secret",
                 channels: Mapping[str, str] | None = None,
                 webhook_secret: str = "WkHkSecret0000000000fake") -> None:
        self.token = token
        self.webhook_path = f"/services/{_TEAM_ID}/B0WEBHOOK1/{webhook_secret}"
        self.channels = dict(channels or {"alerts": "C0ALERTS01", "ml-oncall": "C0MLONCALL"})
        self.calls: list[SlackCall] = []
        self.messages: dict[tuple[str, str], dict[str, object]] = {}
        self._failures: list[_Failure] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Return the base URL for ``WebClient(base_url=…)``."""
        return self.url + "/api/"

    @property
    def webhook_url(self) -> str:
        """Return the incoming webhook's URL, a secret in real life."""
        return self.url + self.webhook_path

    def start(self) -> FakeSlackAPI:
        """Listen on a free loopback port (the same one again after :meth:`go_down`)."""
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,),
                                        name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening; connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    go_down = close
    come_back = start

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def rate_limit_next(self, n: int = 1, *, retry_after: int = 1) -> None:
        """Answer the next *n* calls with HTTP 429, ``Retry-After`` and ``ratelimited``."""
        body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
        self._queue(n, _Failure(status=429, body=body, content_type="application/json",
                                headers={"Retry-After": str(retry_after)},
                                webhook_body=b"rate_limited"))

    def server_error_next(self, n: int = 1, *, status: int = 500) -> None:
        """Answer the next *n* calls with an HTML error page and *status*."""
        self._queue(n, _Failure(status=status, body=b"<html><body>Internal Server Error"
                                b"</body></html>", content_type="text/html"))

    def slow_next(self, n: int = 1, *, seconds: float = 2.0) -> None:
        """Answer the next *n* calls normally, but only after *seconds*."""
        self._queue(n, _Failure(status=0, body=b"", content_type="", delay=seconds))

    def webhook_error_next(self, n: int = 1, *, status: int = 404,
                           error: str = "no_service") -> None:
        """Answer the next *n* calls with an incoming webhook's plain-text *error*."""
        self._queue(n, _Failure(status=status, body=error.encode(),
                                content_type="text/html"))

    def _queue(self, n: int, failure: _Failure) -> None:
        with self._lock:
            self._failures.extend([failure] * n)

    def calls_to(self, method: str) -> list[SlackCall]:
        """Return the recorded calls of one method, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def handle(self, method: str, params: dict[str, object], content_type: str,
               authorization: str) -> tuple[int, dict[str, str], bytes, str]:
        """Answer one call: ``(status, headers, body, content type)``."""
        given = authorization.removeprefix("Bearer ").strip() or str(params.pop("token", ""))
        authorized = given == self.token
        with self._lock:
            self.calls.append(SlackCall(method=method, params=params,
                                        content_type=content_type, authorized=authorized))
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None and failure.delay:
            time.sleep(failure.delay)
        elif failure is not None:
            return failure.status, failure.headers, failure.body, failure.content_type
        if method not in _METHODS:
            return _json(404, {"ok": False, "error": "unknown_method"})
        if not given:
            return _json(200, {"ok": False, "error": "not_authed"})
        if not authorized:
            return _json(200, {"ok": False, "error": "invalid_auth"})
        return _json(200, _METHODS[method](self, params))

    def handle_webhook(self, path: str, params: dict[str, object],
                       content_type: str) -> tuple[int, dict[str, str], bytes, str]:
        """Answer one incoming-webhook post: ``(status, headers, body, content type)``."""
        authorized = path == self.webhook_path
        with self._lock:
            self.calls.append(SlackCall(method=WEBHOOK_METHOD, params=params,
                                        content_type=content_type, authorized=authorized))
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None and failure.delay:
            time.sleep(failure.delay)
        elif failure is not None:
            body = failure.body if failure.webhook_body is None else failure.webhook_body
            kind = failure.content_type if failure.webhook_body is None else "text/html"
            return failure.status, failure.headers, body, kind
        if not authorized:
            return 404, {}, b"no_service", "text/html"
        if not content_type.startswith("application/json"):
            return 400, {}, b"invalid_payload", "text/html"
        if not params.get("text") and not params.get("blocks"):
            return 400, {}, b"no_text", "text/html"
        self._post({**params, "channel": "alerts"})
        return 200, {}, b"ok", "text/html"

    def _channel_id(self, channel: object) -> str | None:
        name = str(channel or "").removeprefix("#")
        if name in self.channels.values():
            return name
        return self.channels.get(name)

    def _post(self, params: dict[str, object]) -> dict[str, object]:
        channel = self._channel_id(params.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        seq = next(self._seq)
        ts = f"{1700000000 + seq}.{seq * 100:06d}"
        message: dict[str, object] = {"type": "message", "user": _BOT_USER, "bot_id": _BOT_ID,
                                      "ts": ts, "text": params.get("text", ""),
                                      "blocks": params.get("blocks", [])}
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        with self._lock:
            self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, params: dict[str, object]) -> dict[str, object]:
        channel = self._channel_id(params.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(params.get("ts", ""))
        with self._lock:
            message = self.messages.get((channel, ts))
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.update(text=params.get("text", ""), blocks=params.get("blocks", []),
                           edited={"user": _BOT_USER, "ts": ts})
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"],
                "message": message}

    def _auth_test(self, _params: dict[str, object]) -> dict[str, object]:
        return {"ok": True, "url": "https://watchkeeper-test.slack.com/", "team": "Watchkeeper",
                "user": "watchkeeper", "team_id": _TEAM_ID, "user_id": _BOT_USER,
                "bot_id": _BOT_ID, "is_enterprise_install": False}


_METHODS = {
    "chat.postMessage": FakeSlackAPI._post,
    "chat.update": FakeSlackAPI._update,
    "auth.test": FakeSlackAPI._auth_test,
}


def _json(status: int, data: Mapping[str, object]) -> tuple[int, dict[str, str], bytes, str]:
    return status, {}, json.dumps(data).encode(), "application/json; charset=utf-8"


def _decode(body: bytes, content_type: str, query: str) -> dict[str, object]:
    params: dict[str, object] = dict(parse_qsl(query))
    if content_type.startswith("application/json") and body:
        params.update(json.loads(body))
    elif body:
        params.update(parse_qsl(body.decode()))
    for key in ("blocks", "attachments"):  # form bodies carry these as JSON strings
        value = params.get(key)
        if isinstance(value, str) and value.startswith("["):
            params[key] = json.loads(value)
    return params


def _handler_for(fake: FakeSlackAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def _answer(self) -> None:
            split = urlsplit(self.path)
            method = split.path.removeprefix("/api/").strip("/")
            length = int(self.headers.get("Content-Length") or 0)
            content_type = self.headers.get("Content-Type", "")
            try:
                params = _decode(self.rfile.read(length), content_type, split.query)
            except ValueError:  # only webhooks get here with a broken body
                params = {}
            if split.path.startswith("/services/"):
                status, headers, body, kind = fake.handle_webhook(split.path, params,
                                                                  content_type)
            else:
                status, headers, body, kind = fake.handle(
                    method, params, content_type, self.headers.get("Authorization", ""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    return Handler
