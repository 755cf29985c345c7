"""Shared state of the demo model server: loaded versions, fault rates, metrics and capture."""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from trainers.model_io import LoadedModel

__all__ = [
    "DURATION_BUCKETS",
    "CaptureWriter",
    "FaultDecision",
    "ServerMetrics",
    "ServerState",
    "UnknownVersionError",
    "VersionTable",
]

logger = logging.getLogger(__name__)

DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class UnknownVersionError(KeyError):
    """A version name that is not among the loaded versions."""

    def __init__(self, version: str, known: tuple[str, ...]) -> None:
        super().__init__(version)
        self.message = f"version {version!r} is not loaded; known versions: {', '.join(known)}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerState:
    """Snapshot returned by ``GET /admin/state``."""

    model: str
    production: str
    versions: tuple[str, ...]
    error_rates: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form with keys ``model``, ``production``, ``versions``, ``error_rates``."""
        return {
            "model": self.model,
            "production": self.production,
            "versions": list(self.versions),
            "error_rates": dict(self.error_rates),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultDecision:
    """Which version serves a request and whether an injected fault fails it."""

    version: str
    model: LoadedModel
    fail: bool


class ServerMetrics:
    """Prometheus metrics of one server, kept in a private ``CollectorRegistry``."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "model_requests_total",
            "Prediction requests by model, version and HTTP status code.",
            ["model", "version", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "model_request_duration_seconds",
            "Time spent handling a prediction request.",
            ["model", "version"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.info = Gauge(
            "model_info",
            "1 for the version currently serving predictions.",
            ["model", "version"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "model_predictions_total",
            "Individual predictions returned (one per instance).",
            ["model", "version"],
            registry=self.registry,
        )

    def register_version(self, version: str) -> None:
        """Create the per-version series so they are exported as 0 before any traffic."""
        self.duration.labels(self.model, version)
        self.predictions.labels(self.model, version)

    def set_serving(self, version: str, previous: str | None) -> None:
        """Point ``model_info`` at ``version`` and drop the series of ``previous``."""
        if previous is not None and previous != version:
            self.info.remove(self.model, previous)
        self.info.labels(self.model, version).set(1)

    def observe(self, version: str, code: int, seconds: float, predictions: int) -> None:
        """Record one finished prediction request."""
        self.requests.labels(self.model, version, str(code)).inc()
        self.duration.labels(self.model, version).observe(seconds)
        if predictions:
            self.predictions.labels(self.model, version).inc(predictions)


class VersionTable:
    """Loaded versions, the production pointer and per-version fault rates (thread-safe)."""

    def __init__(
        self,
        model: str,
        versions: Mapping[str, LoadedModel],
        production: str,
        seed: int | None = None,
    ) -> None:
        if not versions:
            raise ValueError(f"model {model!r}: at least one version must be loaded")
        self.model = model
        self._models = dict(versions)
        self._names = tuple(self._models)
        if production not in self._models:
            raise UnknownVersionError(production, self._names)
        self._production = production
        self._error_rates = dict.fromkeys(self._names, 0.0)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple[str, ...]:
        """Loaded version names in the order given."""
        return self._names

    @property
    def production(self) -> str:
        """The version currently serving predictions."""
        with self._lock:
            return self._production

    def deploy(self, version: str) -> str:
        """Make ``version`` the production version; returns the previous one."""
        if version not in self._models:
            raise UnknownVersionError(version, self._names)
        with self._lock:
            previous, self._production = self._production, version
        logger.info("model %s: production version %s -> %s", self.model, previous, version)
        return previous

    def set_error_rate(self, version: str, rate: float) -> None:
        """Fail a share ``rate`` (0..1) of the requests served by ``version``."""
        if version not in self._models:
            raise UnknownVersionError(version, self._names)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, got {rate}")
        with self._lock:
            self._error_rates[version] = rate
        logger.info("model %s: error rate of %s set to %s", self.model, version, rate)

    def decide(self) -> FaultDecision:
        """Pick the production version for one request and roll its injected fault."""
        with self._lock:
            version = self._production
            rate = self._error_rates[version]
            fail = rate > 0.0 and self._rng.random() < rate
        return FaultDecision(version=version, model=self._models[version], fail=fail)

    def state(self) -> ServerState:
        """Consistent snapshot of the production pointer and fault rates."""
        with self._lock:
            return ServerState(
                model=self.model,
                production=self._production,
                versions=self._names,
                error_rates=dict(self._error_rates),
            )


class CaptureWriter:
    """Appends one JSON line per prediction to a file; safe to call from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def open(self) -> None:
        """Open the capture file for appending, creating its directory."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        """Flush and close the file; later writes are dropped with a warning."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def write(
        self,
        *,
        request_ids: list[str],
        model: str,
        version: str,
        inputs: list[Mapping[str, object]],
        probabilities: list[float],
        status: int,
    ) -> None:
        """Append one record per (input, probability) pair, all stamped with the same time."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = [
            json.dumps(
                {
                    "request_id": request_id,
                    "time": now,
                    "model": model,
                    "version": version,
                    "input": dict(row),
                    "output": {"probability": probability},
                    "status": status,
                },
                separators=(",", ":"),
            )
            for request_id, row, probability in zip(request_ids, inputs, probabilities, strict=True)
        ]
        with self._lock:
            if self._file is None:
                logger.warning(
                    "capture file %s is closed; dropped %s records", self.path, len(lines)
                )
                return
            try:
                self._file.write("".join(line + "\n" for line in lines))
                self._file.flush()
            except OSError:
                logger.exception("cannot append to capture file %s", self.path)
