"""Traffic generator: sends synthetic rows to a model server's /predict at a fixed rate."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import httpx

from trainers.data import feature_rows, make_dataset

__all__ = ["CONNECTION_ERROR", "TrafficStats", "main", "predict_url", "run_traffic"]

logger = logging.getLogger(__name__)

CONNECTION_ERROR = "connection_error"
ROW_POOL = 1000
MAX_LAG_SECONDS = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficStats:
    """Outcome counts of one traffic run."""

    sent: int
    ok: int
    client_errors: int
    server_errors: int
    connection_errors: int
    duration_seconds: float
    by_status: Mapping[str, int] = field(default_factory=dict)

    @property
    def achieved_rps(self) -> float:
        """Requests sent per second of wall time."""
        return self.sent / self.duration_seconds if self.duration_seconds > 0 else 0.0

    def summary(self) -> str:
        """One-line human-readable summary."""
        return (
            f"sent={self.sent} ok={self.ok} 4xx={self.client_errors} 5xx={self.server_errors} "
            f"connection_errors={self.connection_errors} "
            f"duration={self.duration_seconds:.1f}s rps={self.achieved_rps:.1f}"
        )


def predict_url(url: str) -> str:
    """Return the /predict endpoint for ``url``: a base URL gets ``/predict`` appended."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--url {url!r} must be an http(s) URL such as http://127.0.0.1:8080")
    path = parts.path if parts.path not in ("", "/") else "/predict"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _send(client: httpx.Client, url: str, row: Mapping[str, object]) -> str:
    try:
        response = client.post(url, json={"features": dict(row)})
    except httpx.HTTPError as exc:
        logger.debug("request to %s failed: %r", url, exc)
        return CONNECTION_ERROR
    if response.status_code >= 500:
        logger.debug("server error %s: %s", response.status_code, response.text[:200])
    return str(response.status_code)


def run_traffic(
    url: str,
    rps: float,
    stop: threading.Event,
    duration: float | None,
    *,
    seed: int = 0,
    shift: float = 0.0,
    max_requests: int | None = None,
    timeout: float = 5.0,
) -> TrafficStats:
    """Send one-row ``POST /predict`` requests at ``rps`` until a bound is reached.

    Stops when ``stop`` is set, after ``duration`` seconds (``None``: no time bound) or
    after ``max_requests`` requests (``None``: no count bound). HTTP errors and connection
    failures are counted, never raised. Rows come from :func:`trainers.data.make_dataset`
    with ``seed`` and ``shift``.
    """
    if not (math.isfinite(rps) and rps > 0):
        raise ValueError(f"--rps must be a positive number, got {rps}")
    if duration is not None and not duration >= 0:
        raise ValueError(f"--duration must be >= 0 seconds, got {duration}")
    if max_requests is not None and max_requests < 0:
        raise ValueError(f"--max-requests must be >= 0, got {max_requests}")
    target = predict_url(url)
    rows = feature_rows(make_dataset(ROW_POOL, seed, shift))
    interval = 1.0 / rps
    counts: Counter[str] = Counter()
    sent = 0
    started = time.monotonic()
    deadline = None if duration is None else started + duration
    next_at = started
    logger.info("sending %s rps to %s", rps, target)
    with httpx.Client(timeout=timeout) as client:
        while not stop.is_set():
            if max_requests is not None and sent >= max_requests:
                break
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if next_at > now:
                wait = next_at - now if deadline is None else min(next_at, deadline) - now
                if stop.wait(wait):
                    break
                continue
            counts[_send(client, target, rows[sent % len(rows)])] += 1
            sent += 1
            next_at += interval
            if time.monotonic() - next_at > MAX_LAG_SECONDS:
                next_at = time.monotonic()  # the server is slow; do not burst to catch up
    elapsed = time.monotonic() - started
    stats = TrafficStats(
        sent=sent,
        ok=counts["200"],
        client_errors=sum(n for code, n in counts.items() if code.startswith("4")),
        server_errors=sum(n for code, n in counts.items() if code.startswith("5")),
        connection_errors=counts[CONNECTION_ERROR],
        duration_seconds=elapsed,
        by_status=dict(sorted(counts.items())),
    )
    logger.info("traffic to %s finished: %s", target, stats.summary())
    return stats


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.traffic",
        description="Send synthetic churn rows to a model server's POST /predict.",
    )
    parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--rps", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds to run (default 60; 0 = no limit)"
    )
    parser.add_argument(
        "--max-requests", type=int, default=None, help="stop after this many requests"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated rows")
    parser.add_argument(
        "--shift", type=float, default=0.0, help="feature drift of the generated rows (default 0)"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="per-request timeout seconds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run until a bound, SIGINT or SIGTERM; print a summary."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    if not (math.isfinite(args.rps) and args.rps > 0):
        parser.error(f"--rps must be a positive number, got {args.rps}")
    if not (math.isfinite(args.duration) and args.duration >= 0):
        parser.error(f"--duration must be >= 0 seconds, got {args.duration}")
    if args.max_requests is not None and args.max_requests < 0:
        parser.error(f"--max-requests must be >= 0, got {args.max_requests}")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error(f"--timeout must be a positive number, got {args.timeout}")
    try:
        predict_url(args.url)
    except ValueError as exc:
        parser.error(str(exc))

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stats = run_traffic(
        args.url,
        args.rps,
        stop,
        args.duration or None,
        seed=args.seed,
        shift=args.shift,
        max_requests=args.max_requests,
        timeout=args.timeout,
    )
    print(stats.summary(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
