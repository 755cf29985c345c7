"""Drift detection on feature-store baselines (baselines, tests, detectors); built in issue 4."""

from __future__ import annotations

__all__: list[str] = []
