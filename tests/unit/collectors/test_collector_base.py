"""The collector plugin point: the Protocol and the entry-point registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

import monitor.collectors
from monitor.collectors import Collector, EndpointCollector, collectors
from monitor.config import TargetConfig
from monitor.core.errors import UnknownPluginError
from monitor.core.model import Labels, Sample

TARGET = TargetConfig(name="model-a", url="http://127.0.0.1:9100/metrics",
                      interval=timedelta(seconds=15), timeout=timedelta(seconds=1))


class StaticCollector:
    """A third-party collector: one fixed sample."""

    def collect(self, now: datetime) -> Iterable[Sample]:
        return [Sample(metric="static", labels=Labels(), value=1.0, timestamp=now)]


def test_endpoint_collector_is_built_through_its_entry_point() -> None:
    assert "endpoint" in collectors.names()
    assert collectors.group == "watchkeeper.collectors"
    collector = collectors.create("endpoint", TARGET, max_body_bytes=4096)
    assert isinstance(collector, EndpointCollector)
    assert (collector.target, collector.max_body_bytes) == (TARGET, 4096)


def test_unknown_collector_name_lists_the_installed_ones() -> None:
    with pytest.raises(UnknownPluginError,
                       match=r"watchkeeper.collectors: no plugin named 'endpiont'; "
                             r"installed: .*endpoint"):
        collectors.create("endpiont", TARGET)


def test_protocol_is_checked_at_runtime() -> None:
    assert isinstance(StaticCollector(), Collector)
    assert isinstance(EndpointCollector(TARGET), Collector)
    assert not isinstance(object(), Collector)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert [s.metric for s in StaticCollector().collect(now)] == ["static"]


def test_public_surface_is_exactly_all() -> None:
    public = {name for name in vars(monitor.collectors)
              if not name.startswith("_") and name not in {"base", "endpoint", "annotations"}}
    assert public == set(monitor.collectors.__all__)
