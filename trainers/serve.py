"""Demo HTTP model server on 127.0.0.1 with fault injection, Prometheus metrics and capture."""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from trainers.features import FeatureError
from trainers.model_io import LoadedModel, ModelLoadError, load_model
from trainers.serve_state import (
    CaptureWriter,
    ServerMetrics,
    ServerState,
    UnknownVersionError,
    VersionTable,
)

__all__ = ["HOST", "MAX_BODY_BYTES", "MAX_INSTANCES", "ModelServer", "main"]

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
MAX_BODY_BYTES = 1 << 20
MAX_INSTANCES = 1000

Response = tuple[int, dict[str, Any]]


class _BadRequest(ValueError):
    """The request body is not what the endpoint expects (HTTP 400)."""


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadRequest(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise _BadRequest(f"request body must be a JSON object, got {type(data).__name__}")
    return data


def _predict_rows(body: bytes) -> list[Mapping[str, object]]:
    data = _json_object(body)
    usage = 'send {"features": {...}} or {"instances": [{...}, ...]}'
    if "features" in data:
        features = data["features"]
        if not isinstance(features, dict):
            raise _BadRequest(f"'features' must be a JSON object; {usage}")
        return [features]
    if "instances" in data:
        instances = data["instances"]
        if not isinstance(instances, list) or not instances:
            raise _BadRequest(f"'instances' must be a non-empty list of objects; {usage}")
        if len(instances) > MAX_INSTANCES:
            raise _BadRequest(
                f"'instances' has {len(instances)} items; the limit is {MAX_INSTANCES}"
            )
        return instances
    raise _BadRequest(f"request body has neither 'features' nor 'instances'; {usage}")


class ModelServer:
    """Serves the production version of one model over HTTP on 127.0.0.1.

    ``versions`` maps version names to loaded models or model directories. Call
    :meth:`start` to serve from a background thread, :meth:`stop` to shut down.
    """

    def __init__(
        self,
        *,
        model: str,
        versions: Mapping[str, LoadedModel | Path | str],
        production: str,
        port: int = 0,
        capture: Path | None = None,
        seed: int | None = None,
        host: str = HOST,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port}")
        loaded = {
            name: value if isinstance(value, LoadedModel) else load_model(value)
            for name, value in versions.items()
        }
        self.model = model
        self.versions = VersionTable(model, loaded, production, seed)
        self.metrics = ServerMetrics(model)
        for name in self.versions.names:
            self.metrics.register_version(name)
        self.metrics.set_serving(production, None)
        self.capture = CaptureWriter(capture) if capture is not None else None
        self._port, self._host = port, host
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080``; only valid after :meth:`start`."""
        if self._httpd is None:
            raise RuntimeError("ModelServer.url is only known after start()")
        return f"http://{self._host}:{self._httpd.server_address[1]}"

    def start(self) -> None:
        """Bind 127.0.0.1:port and serve requests from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError(f"ModelServer for {self.model!r} is already running at {self.url}")
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.app = self
        if self.capture is not None:
            try:
                self.capture.open()
            except OSError:
                httpd.server_close()
                raise
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"model-server-{self.model}",
            daemon=True,
        )
        self._thread.start()
        logger.info("serving model %s at %s", self.model, self.url)

    def stop(self) -> None:
        """Stop accepting requests, close the socket and the capture file."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.capture is not None:
            self.capture.close()

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def deploy(self, version: str) -> str:
        """Serve ``version`` from now on; returns the previous production version."""
        previous = self.versions.deploy(version)
        self.metrics.set_serving(version, previous)
        return previous

    def set_error_rate(self, version: str, rate: float) -> None:
        """Inject HTTP 500s into a share ``rate`` (0..1) of ``version``'s requests."""
        self.versions.set_error_rate(version, rate)

    def state(self) -> ServerState:
        """Current production version and fault rates."""
        return self.versions.state()

    def handle_predict(self, body: bytes) -> Response:
        """Serve one ``POST /predict`` request body; records metrics and capture."""
        started = time.perf_counter()
        decision = self.versions.decide()
        status, count = 500, 0
        payload: dict[str, Any] = {"error": "internal error"}
        try:
            if decision.fail:
                status, payload = 500, {"error": "injected fault"}
            else:
                rows = _predict_rows(body)
                probabilities = decision.model.predict_proba(rows)
                request_id = uuid.uuid4().hex
                status, count = 200, len(probabilities)
                payload = {
                    "predictions": probabilities,
                    "model": self.model,
                    "version": decision.version,
                    "request_id": request_id,
                }
                if self.capture is not None:
                    ids = (
                        [request_id] if count == 1 else [f"{request_id}-{i}" for i in range(count)]
                    )
                    self.capture.write(
                        request_ids=ids,
                        model=self.model,
                        version=decision.version,
                        inputs=rows,
                        probabilities=probabilities,
                        status=status,
                    )
        except (_BadRequest, FeatureError) as exc:
            status, payload = 400, {"error": str(exc)}
        except Exception:
            logger.exception("prediction with %s/%s failed", self.model, decision.version)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(decision.version, status, elapsed, count)
        return status, payload

    def handle_fault(self, body: bytes) -> Response:
        """``POST /admin/fault`` with ``{"version": V, "error_rate": R}``."""
        data = _json_object(body)
        version, rate = data.get("version"), data.get("error_rate")
        if not isinstance(version, str):
            raise _BadRequest("'version' must be a string naming a loaded version")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise _BadRequest(f"'error_rate' must be a number between 0 and 1, got {rate!r}")
        if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
            raise _BadRequest(f"'error_rate' must be between 0 and 1, got {rate!r}")
        self.set_error_rate(version, float(rate))
        return 200, self.state().to_json()

    def handle_deploy(self, body: bytes) -> Response:
        """``POST /admin/deploy`` with ``{"version": V}``."""
        version = _json_object(body).get("version")
        if not isinstance(version, str):
            raise _BadRequest("'version' must be a string naming a loaded version")
        previous = self.deploy(version)
        return 200, {**self.state().to_json(), "previous": previous}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: ModelServer

    def handle_error(self, request: object, client_address: Any) -> None:
        logger.exception("error while handling a request from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "WatchkeeperModelServer/1"
    timeout = 30  # seconds a client may stall mid-request before its socket is dropped

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Mapping[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _read_body(self) -> bytes | None:
        raw_length = self.headers.get("Content-Length", "0")
        try:
            length = int(raw_length)
        except ValueError:
            self._send_json(400, {"error": f"invalid Content-Length {raw_length!r}"})
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_json(413, {"error": f"body must be 0..{MAX_BODY_BYTES} bytes"})
            return None
        return self.rfile.read(length)

    def do_GET(self) -> None:
        app, path = self.server.app, urlsplit(self.path).path
        if path == "/healthz":
            self._send(200, b"ok", "text/plain; charset=utf-8")
        elif path == "/metrics":
            self._send(200, generate_latest(app.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/admin/state":
            self._send_json(200, app.state().to_json())
        elif path in _POST_ROUTES:
            self._send_json(405, {"error": f"{path} only accepts POST"})
        else:
            self._send_json(404, {"error": f"no endpoint {path}; see /healthz, /metrics"})

    def do_POST(self) -> None:
        app, path = self.server.app, urlsplit(self.path).path
        route = _POST_ROUTES.get(path)
        if route is None:
            status = 405 if path in ("/healthz", "/metrics", "/admin/state") else 404
            self._send_json(status, {"error": f"POST {path} is not an endpoint"})
            return
        body = self._read_body()
        if body is None:
            return
        try:
            status, payload = route(app, body)
        except _BadRequest as exc:
            status, payload = 400, {"error": str(exc)}
        except UnknownVersionError as exc:
            status, payload = 404, {"error": str(exc)}
        self._send_json(status, payload)


_POST_ROUTES = {
    "/predict": ModelServer.handle_predict,
    "/admin/fault": ModelServer.handle_fault,
    "/admin/deploy": ModelServer.handle_deploy,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.serve",
        description="Serve trained model versions on 127.0.0.1 with Prometheus metrics.",
    )
    parser.add_argument("--model", required=True, help="model name used in metric labels")
    parser.add_argument(
        "--version",
        dest="versions",
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="a model version and its directory from trainers.tabular (repeatable)",
    )
    parser.add_argument("--production", help="version serving at start (default: the first)")
    parser.add_argument("--host", default=HOST,
                        help="address to bind (default 127.0.0.1; containers use 0.0.0.0)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 = any free (default 8080)")
    parser.add_argument("--capture", type=Path, help="append prediction records to this JSONL file")
    parser.add_argument("--seed", type=int, default=None, help="seed for injected faults")
    return parser


def _load_versions(parser: argparse.ArgumentParser, specs: list[str]) -> dict[str, LoadedModel]:
    loaded: dict[str, LoadedModel] = {}
    for spec in specs:
        name, sep, directory = spec.partition("=")
        if not sep or not name or not directory:
            parser.error(f"--version {spec!r} must look like NAME=DIR, e.g. v1=models/v1")
        if name in loaded:
            parser.error(f"--version {name!r} is given twice; use distinct names")
        try:
            loaded[name] = load_model(directory)
        except ModelLoadError as exc:
            parser.error(f"--version {spec}: {exc}")
    return loaded


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: serve until SIGINT or SIGTERM."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    versions = _load_versions(parser, args.versions)
    production = args.production or next(iter(versions))
    if production not in versions:
        parser.error(
            f"--production {production!r} is not a --version; known: {', '.join(versions)}"
        )
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    server = ModelServer(
        model=args.model,
        versions=versions,
        production=production,
        port=args.port,
        capture=args.capture,
        seed=args.seed,
        host=args.host,
    )
    try:
        server.start()
    except OSError as exc:
        where = (
            f"--port {args.port}" if args.capture is None else f"--port/--capture {args.capture}"
        )
        parser.error(f"cannot start the server ({where}): {exc}")
    print(f"listening on {server.url}", flush=True)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s; shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
