"""A backend that only records what it was asked to do."""

from __future__ import annotations

import threading

from monitor.core.model import ActionResult
from monitor.remediation.backends.base import RetrainRequest, RollbackRequest, ScaleRequest

__all__ = ["DryRunBackend"]

Request = RollbackRequest | RetrainRequest | ScaleRequest


class DryRunBackend:
    """Record every request and report success with detail ``"dry run"``; change nothing.

    Used as ``backend: dry-run`` in a policy to see what a policy would do, and in tests
    the way ``httpx.MockTransport`` stands in for a network.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []

    @property
    def requests(self) -> list[Request]:
        """Return a copy of the requests received, oldest first."""
        with self._lock:
            return list(self._requests)

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def retrain(self, request: RetrainRequest) -> ActionResult:
        """Record a retrain request."""
        self._record(request)
        return ActionResult.succeeded("dry run", model=request.model)

    def rollback(self, request: RollbackRequest) -> ActionResult:
        """Record a rollback request."""
        self._record(request)
        return ActionResult.succeeded("dry run", model=request.model,
                                      from_version=request.from_version,
                                      to_version=request.to_version)

    def scale(self, request: ScaleRequest) -> ActionResult:
        """Record a scale request."""
        self._record(request)
        return ActionResult.succeeded("dry run", model=request.model,
                                      direction=request.direction.value)
