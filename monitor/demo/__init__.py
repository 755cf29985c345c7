"""The demo: the whole loop on a locally served model, on the embedded SQLite store."""

from __future__ import annotations

from monitor.demo.scenario import DemoRun, run_demo

__all__ = ["DemoRun", "run_demo"]
