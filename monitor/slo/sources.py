"""The ``watchkeeper.sli_sources`` plug-in group: where SLI numbers come from.

Built in: ``store`` (the embedded store, via rollups) and ``prometheus`` (PromQL over
Prometheus' HTTP API). A third party adds one with an entry point in that group whose
object implements :class:`~monitor.slo.sli.SLISource`.
"""

from __future__ import annotations

from monitor.core.plugins import Registry
from monitor.slo.sli import SLISource

__all__ = ["sli_sources"]

sli_sources: Registry[SLISource] = Registry("watchkeeper.sli_sources", SLISource)
"""SLI sources installed under the ``watchkeeper.sli_sources`` entry-point group."""
