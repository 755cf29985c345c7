"""Remediation: policies, guards, action runs and audit, and the backends that act."""

from __future__ import annotations

from monitor.remediation.backends import (
    DryRunBackend,
    LocalBackend,
    RemediationBackend,
    RetrainRequest,
    RollbackRequest,
    ScaleDirection,
    ScaleRequest,
    backends,
)
from monitor.remediation.engine import RemediationEngine, idempotency_key
from monitor.remediation.guards import CooldownGuard, Verdict
from monitor.remediation.policy import Action, Guards, RemediationPolicy, matching
from monitor.remediation.spec import KIND, from_document

__all__ = [
    "KIND",
    "Action",
    "CooldownGuard",
    "DryRunBackend",
    "Guards",
    "LocalBackend",
    "RemediationBackend",
    "RemediationEngine",
    "RemediationPolicy",
    "RetrainRequest",
    "RollbackRequest",
    "ScaleDirection",
    "ScaleRequest",
    "Verdict",
    "backends",
    "from_document",
    "idempotency_key",
    "matching",
]
