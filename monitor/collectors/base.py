"""The collector plugin point: ``collect(now) -> Iterable[Sample]`` and its registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from monitor.core.model import Sample
from monitor.core.plugins import Registry

__all__ = ["Collector", "collectors"]


@runtime_checkable
class Collector(Protocol):
    """Collect the samples of one configured target as of *now*.

    A collector never raises for a broken target: it reports the failure in the samples it
    returns (an ``up`` sample of 0, as Prometheus does).
    """

    def collect(self, now: datetime) -> Iterable[Sample]: ...


collectors: Registry[Collector] = Registry(
    "watchkeeper.collectors", Collector)
"""Collectors installed under the ``watchkeeper.collectors`` entry-point group."""
