"""Every built-in plug-in is registered by entry point and implements its protocol."""

from __future__ import annotations

import pytest

from monitor.alerting.notifiers.base import Notifier, notifiers
from monitor.collectors.base import Collector, collectors
from monitor.core.errors import UnknownPluginError
from monitor.core.plugins import Registry
from monitor.remediation.backends.base import RemediationBackend, backends
from monitor.slo.sli import SLISource
from monitor.slo.sources import sli_sources

GROUPS: list[tuple[Registry[object], type[object], set[str]]] = [
    (notifiers, Notifier, {"console", "slack", "slack-webhook", "pagerduty", "webhook",
                           "alertmanager", "recording"}),
    (backends, RemediationBackend, {"local", "dry-run"}),
    (collectors, Collector, {"endpoint"}),
    (sli_sources, SLISource, {"store", "prometheus"}),
]


@pytest.mark.parametrize(("registry", "protocol", "builtins"), GROUPS,
                         ids=[g[0].group for g in GROUPS])
def test_builtins_are_registered_and_implement_the_protocol(
        registry: Registry[object], protocol: type[object], builtins: set[str]) -> None:
    assert builtins <= set(registry.names())
    for name in builtins:
        factory = registry.factory(name)
        assert isinstance(factory, type) and issubclass(factory, protocol), name


def test_unknown_plugin_names_the_installed_ones() -> None:
    with pytest.raises(UnknownPluginError, match=r"watchkeeper.backends: no plugin named "
                       r"'kubernetes'; installed: dry-run, local"):
        backends.create("kubernetes")
