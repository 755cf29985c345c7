"""Collectors: scrape Prometheus endpoints (and more via the ``watchkeeper.collectors`` group)."""

from __future__ import annotations

from monitor.collectors.base import Collector, collectors
from monitor.collectors.endpoint import (
    DEFAULT_MAX_BODY_BYTES,
    EndpointCollector,
    ScrapeManager,
    ScrapeResult,
    instance_label,
    parse_exposition,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "Collector",
    "EndpointCollector",
    "ScrapeManager",
    "ScrapeResult",
    "collectors",
    "instance_label",
    "parse_exposition",
]
