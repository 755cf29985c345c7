"""The service: assembly of the engines, the schedule, the HTTP API and /metrics."""

from __future__ import annotations

from monitor.service.assembly import Rules, Watchkeeper, load_rules
from monitor.service.loop import Loop, LoopReport

__all__ = ["Loop", "LoopReport", "Rules", "Watchkeeper", "load_rules"]
