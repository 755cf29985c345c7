"""The remediation backend plug-in point: requests, the Protocol, and its registry.

A backend acts on one platform (a local model server, Kubernetes, SageMaker...). It
must be idempotent on ``request.idempotency_key``: a resumed run may send the same
request twice. A backend that cannot do something returns
:meth:`ActionResult.unsupported`; a failure it can describe is :meth:`ActionResult.failed`;
it raises :class:`~monitor.core.errors.ActionError` only for errors it cannot describe
as a result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from monitor.core.model import ActionResult
from monitor.core.plugins import Registry

__all__ = [
    "RemediationBackend",
    "RetrainRequest",
    "RollbackRequest",
    "ScaleDirection",
    "ScaleRequest",
    "backends",
]


def _check(idempotency_key: str, model: str) -> None:
    if not idempotency_key:
        raise ValueError("idempotency_key must not be empty")
    if not model:
        raise ValueError(f"request {idempotency_key!r}: model must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackRequest:
    """Serve ``to_version`` of ``model`` again instead of ``from_version``."""

    idempotency_key: str
    model: str
    from_version: str
    to_version: str
    artifact: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        _check(self.idempotency_key, self.model)
        if not self.to_version:
            raise ValueError(f"rollback of {self.model!r}: to_version must not be empty")
        if self.to_version == self.from_version:
            raise ValueError(f"rollback of {self.model!r}: to_version {self.to_version!r} "
                             "is the version being served")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrainRequest:
    """Train a new version of ``model``, starting from ``base_version`` when given."""

    idempotency_key: str
    model: str
    base_version: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        _check(self.idempotency_key, self.model)


class ScaleDirection(StrEnum):
    """Which way to scale."""

    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleRequest:
    """Add or remove serving capacity for ``model``."""

    idempotency_key: str
    model: str
    direction: ScaleDirection
    parameters: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        _check(self.idempotency_key, self.model)


@runtime_checkable
class RemediationBackend(Protocol):
    """Remediate on one platform; idempotent on ``request.idempotency_key``."""

    def retrain(self, request: RetrainRequest) -> ActionResult:
        """Start training a new version."""
        ...

    def rollback(self, request: RollbackRequest) -> ActionResult:
        """Serve an earlier version again."""
        ...

    def scale(self, request: ScaleRequest) -> ActionResult:
        """Change serving capacity."""
        ...


backends: Registry[RemediationBackend] = Registry("watchkeeper.backends", RemediationBackend)
"""Backends by name, from the ``watchkeeper.backends`` entry points (``local``, ``dry-run``)."""
