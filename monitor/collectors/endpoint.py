"""Scrape Prometheus text-format ``/metrics`` endpoints over HTTP, many at once.

A scrape behaves like Prometheus' own with ``honor_labels: false``: every sample gets the
target's labels plus ``job`` and ``instance``, a scraped label that clashes with one of them
is kept as ``exported_<name>``, and each scrape also yields ``up``,
``scrape_duration_seconds`` and ``scrape_samples_scraped``. A target that cannot be scraped
is reported down with the reason; it never raises and never holds up the other targets.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO, cast
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_fd_to_metric_families

from monitor.config import TargetConfig, fmt_duration
from monitor.core.model import Labels, Sample, TargetHealth
from monitor.core.time import Clock, SystemClock
from monitor.store import SampleStore, TargetStore

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "EndpointCollector",
    "ScrapeManager",
    "ScrapeResult",
    "instance_label",
    "parse_exposition",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
"""The largest decoded body a scrape accepts (Prometheus' ``body_size_limit``)."""

# Prometheus asks for the text format the same way, falling back to anything.
_HEADERS = {
    "Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1",
    "User-Agent": "watchkeeper-scraper",
}
_BARE_COUNTER = re.compile(r"^[ \t]*#[ \t]+TYPE[ \t]+(\S+)[ \t]+counter[ \t]*$", re.MULTILINE)
# Scheduler ticks jitter: without slack, a target whose interval equals the tick would be
# skipped every other tick whenever a tick fires a few milliseconds early.
_DUE_SLACK = 0.1
_MAX_QUOTED_LINE = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrapeResult:
    """The outcome of one scrape: the target's health and every sample, synthetic ones included."""

    health: TargetHealth
    samples: tuple[Sample, ...]


class _ScrapeFailed(Exception):
    """Why a target is down; the message is stored as ``TargetHealth.error``."""


def instance_label(url: str) -> str:
    """Return the ``instance`` label of *url*: ``host:port``, with the scheme's default port."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    try:
        port = parts.port
    except ValueError:
        return netloc
    if port is None and netloc:
        return f"{netloc}:{443 if parts.scheme == 'https' else 80}"
    return netloc


def _redact(url: str) -> str:
    """Return *url* with any password replaced by ``***``: it may be logged and stored."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{hostport}").geturl()


class _LineReader:
    """Lines that count themselves as the parser reads them, so an error can name its line."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text))  # splits where the parser's own StringIO would
        self.line_no = 0
        self.line = ""

    def __iter__(self) -> _LineReader:
        return self

    def __next__(self) -> str:
        self.line = next(self._lines)
        self.line_no += 1
        return self.line


def parse_exposition(body: bytes) -> list[tuple[str, dict[str, str], float]]:
    """Parse a Prometheus text-format body into ``(metric, labels, value)`` triples.

    Names are as exposed: counters keep ``_total``, histograms give ``_bucket``, ``_sum``
    and ``_count``. Exposition timestamps are dropped.

    Raises
    ------
    ValueError
        ``invalid exposition at line N: ...`` naming the first line that cannot be read.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise ValueError(f"invalid exposition at line {line}: not valid UTF-8 "
                         f"(byte offset {exc.start})") from exc
    reader = _LineReader(text)
    try:
        families = list(text_fd_to_metric_families(cast(TextIO, reader)))  # it only iterates
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        quoted = reader.line.strip()[:_MAX_QUOTED_LINE]
        detail = str(exc).strip()
        raise ValueError(f"invalid exposition at line {reader.line_no}: cannot parse {quoted!r}"
                         + (f" ({detail})" if detail else "")) from exc
    # The parser renames the samples of a counter declared without ``_total`` to
    # ``<name>_total``; Prometheus stores them as exposed, so undo that.
    bare = {name for name in _BARE_COUNTER.findall(text) if not name.endswith("_total")}
    out: list[tuple[str, dict[str, str], float]] = []
    for family in families:
        unsuffix = family.type == "counter" and family.name in bare
        for sample in family.samples:
            name = sample.name
            if unsuffix and name == family.name + "_total":
                name = family.name
            out.append((name, dict(sample.labels), float(sample.value)))
    return out


def _target_labels(target: TargetConfig) -> dict[str, str]:
    """Return ``job`` and ``instance`` overlaid with the configured labels (those win)."""
    labels = {"job": target.name, "instance": instance_label(target.url), **target.labels}
    return {name: value for name, value in labels.items() if value}


def _series_labels(scraped: Mapping[str, str], target: Mapping[str, str]) -> Labels:
    """Attach *target* labels; a clashing scraped label becomes ``exported_<name>``."""
    out = {name: value for name, value in scraped.items() if value}
    for name, value in target.items():
        if name in out:
            exported = "exported_" + name
            while exported in out or exported in target:
                exported = "exported_" + exported
            out[exported] = out.pop(name)
        out[name] = value
    return Labels(out)


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _new_client(connections: int = 16) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(headers=_HEADERS, limits=limits)


async def _fetch(client: httpx.AsyncClient, target: TargetConfig, max_bytes: int) -> bytes:
    """Return the body of *target*, or raise :class:`_ScrapeFailed` saying why not."""
    shown = _redact(target.url)
    seconds = target.timeout.total_seconds()
    try:
        async with asyncio.timeout(seconds):  # the whole request, not each read
            async with client.stream("GET", target.url, timeout=seconds,
                                     follow_redirects=True) as response:
                if not response.is_success:
                    raise _ScrapeFailed(f"HTTP {response.status_code} from {shown}")
                length = response.headers.get("content-length", "")
                if (length.isdigit() and int(length) > max_bytes
                        and "content-encoding" not in response.headers):
                    raise _ScrapeFailed(f"body larger than {max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():  # decoded: caps gzip bombs too
                    size += len(chunk)
                    if size > max_bytes:
                        raise _ScrapeFailed(f"body larger than {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise _ScrapeFailed(f"timed out after {fmt_duration(target.timeout)}") from exc
    except httpx.ConnectError as exc:
        reason = "connection refused" if _refused(exc) else f"cannot connect: {exc}"
        raise _ScrapeFailed(reason) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _ScrapeFailed(f"request to {shown} failed: "
                            f"{exc or type(exc).__name__}") from exc


class EndpointCollector:
    """Scrape one Prometheus text-format endpoint.

    Parameters
    ----------
    target
        What to scrape: URL, timeout and the labels to attach.
    client
        A shared client for :meth:`scrape`; without one each scrape opens its own.
        :meth:`collect` always opens its own, as it runs in a fresh event loop.
    max_body_bytes
        A larger (decoded) body marks the target down.
    """

    def __init__(self, target: TargetConfig, *, client: httpx.AsyncClient | None = None,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self.target = target
        self.max_body_bytes = max_body_bytes
        self._client = client
        self._labels = _target_labels(target)

    def collect(self, now: datetime) -> tuple[Sample, ...]:
        """Scrape now and return the samples; call it from a thread with no running loop."""
        return asyncio.run(self._scrape_fresh(now)).samples

    async def scrape(self, now: datetime) -> ScrapeResult:
        """Scrape the target once; samples are stamped *now*; a failure is a down health."""
        if self._client is None:
            return await self._scrape_fresh(now)
        return await self.scrape_with(self._client, now)

    async def _scrape_fresh(self, now: datetime) -> ScrapeResult:
        async with _new_client(1) as client:
            return await self.scrape_with(client, now)

    async def scrape_with(self, client: httpx.AsyncClient, now: datetime) -> ScrapeResult:
        """Scrape the target once through *client* (which the caller owns)."""
        started = time.perf_counter()
        try:
            body = await _fetch(client, self.target, self.max_body_bytes)
            try:  # a big body takes a while to parse: keep the loop free for other targets
                parsed = await asyncio.to_thread(parse_exposition, body)
            except ValueError as exc:
                raise _ScrapeFailed(str(exc)) from exc
        except _ScrapeFailed as exc:
            logger.debug("target %s is down: %s", self.target.name, exc)
            return self._result(now, time.perf_counter() - started, (), 0, str(exc))
        samples = tuple(
            Sample(metric=name, labels=_series_labels(labels, self._labels), value=value,
                   timestamp=now)
            for name, labels, value in parsed
            if not math.isnan(value)  # NaN would poison sums and rollups downstream
        )
        return self._result(now, time.perf_counter() - started, samples, len(parsed), "")

    def _result(self, now: datetime, duration: float, samples: tuple[Sample, ...],
                scraped: int, error: str) -> ScrapeResult:
        labels = Labels(self._labels)
        report = tuple(
            Sample(metric=metric, labels=labels, value=value, timestamp=now)
            for metric, value in (("up", 0.0 if error else 1.0),
                                  ("scrape_duration_seconds", duration),
                                  ("scrape_samples_scraped", float(scraped)))
        )
        health = TargetHealth(name=self.target.name, url=_redact(self.target.url), up=not error,
                              last_scrape=now, duration_seconds=duration,
                              samples_scraped=scraped, error=error)
        return ScrapeResult(health=health, samples=samples + report)


class ScrapeManager:
    """Scrape every due target concurrently and store samples and health.

    Parameters
    ----------
    targets
        The configured targets; names must be unique.
    samples, targets_store
        Where samples and each target's last health go.
    concurrency
        How many scrapes run at once (one shared HTTP client).
    clock
        Stamps each round of scrapes and decides which targets are due.
    """

    def __init__(self, targets: Iterable[TargetConfig], *, samples: SampleStore,
                 targets_store: TargetStore, concurrency: int = 16,
                 clock: Clock | None = None,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.targets = tuple(targets)
        names = [t.name for t in self.targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate target names {duplicates}; give each target its own name")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self._samples, self._targets_store = samples, targets_store
        self._clock: Clock = clock or SystemClock()
        self._collectors = {t.name: EndpointCollector(t, max_body_bytes=max_body_bytes)
                            for t in self.targets}
        self._last: dict[str, datetime] = {}
        self._up: dict[str, bool] = {}
        self._lock = threading.Lock()

    def due(self, now: datetime) -> list[TargetConfig]:
        """Return the targets whose interval has elapsed since their last scrape."""
        with self._lock:
            return self._due(now)

    def _due(self, now: datetime) -> list[TargetConfig]:
        return [t for t in self.targets if _is_due(self._last.get(t.name), t.interval, now)]

    def _claim(self, now: datetime) -> list[TargetConfig]:
        """Return the due targets and mark them scraped at *now*, so no round repeats them."""
        with self._lock:
            due = self._due(now)
            for target in due:
                self._last[target.name] = now
            return due

    def scrape_all_sync(self) -> list[TargetHealth]:
        """Run :meth:`scrape_all` in a new event loop; for a scheduler thread."""
        return asyncio.run(self.scrape_all())

    async def scrape_all(self) -> list[TargetHealth]:
        """Scrape the due targets, store what they gave, and return their health."""
        now = self._clock.now()
        due = self._claim(now)
        if not due:
            return []
        semaphore = asyncio.Semaphore(self.concurrency)
        async with _new_client(self.concurrency) as client:
            results = await asyncio.gather(
                *(self._guarded(semaphore, client, t, now) for t in due))
        self._store(results)
        return [r.health for r in results]

    async def _guarded(self, semaphore: asyncio.Semaphore, client: httpx.AsyncClient,
                       target: TargetConfig, now: datetime) -> ScrapeResult:
        collector = self._collectors[target.name]
        async with semaphore:
            started = time.perf_counter()
            try:
                return await collector.scrape_with(client, now)
            except Exception as exc:  # a bug must cost one target, never the round
                logger.exception("scraping target %s failed unexpectedly", target.name)
                return collector._result(now, time.perf_counter() - started, (), 0,
                                         f"unexpected error: {type(exc).__name__}: {exc}")

    def _store(self, results: Sequence[ScrapeResult]) -> None:
        self._samples.write(s for r in results for s in r.samples)
        for result in results:
            health = result.health
            self._targets_store.record(health)
            with self._lock:
                changed = self._up.get(health.name) != health.up
                self._up[health.name] = health.up
            if changed:
                if health.up:
                    logger.info("target %s (%s) is up", health.name, health.url)
                else:
                    logger.warning("target %s (%s) is down: %s", health.name, health.url,
                                   health.error)


def _is_due(last: datetime | None, interval: timedelta, now: datetime) -> bool:
    return last is None or now - last >= interval * (1 - _DUE_SLACK)
