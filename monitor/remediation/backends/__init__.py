"""Remediation backends: the Protocol, requests, the registry and the built-in backends."""

from __future__ import annotations

from monitor.remediation.backends.base import (
    RemediationBackend,
    RetrainRequest,
    RollbackRequest,
    ScaleDirection,
    ScaleRequest,
    backends,
)
from monitor.remediation.backends.dry_run import DryRunBackend
from monitor.remediation.backends.local import LocalBackend

__all__ = [
    "DryRunBackend",
    "LocalBackend",
    "RemediationBackend",
    "RetrainRequest",
    "RollbackRequest",
    "ScaleDirection",
    "ScaleRequest",
    "backends",
]
