"""The ``local`` backend: switch a locally served model's version through its deploy hook.

A locally served model (the demo model server, or anything answering the same way)
switches versions on ``POST <deploy url>`` with ``{"version": V, "artifact": A}`` and
answers 2xx, or 404 for a version it does not have. Nothing here runs a program: the
only effect is that HTTP request.

Every problem reaching the hook (refused connection, timeout, non-2xx answer) is returned
as :meth:`ActionResult.failed` with the reason, not raised: the run is recorded as failed,
the registry is left as it was, and the next firing of the alert makes a new run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from monitor.core.model import ActionResult
from monitor.remediation.backends.base import RetrainRequest, RollbackRequest, ScaleRequest

__all__ = ["NO_DEPLOY_HOOK", "LocalBackend"]

log = logging.getLogger(__name__)
NO_DEPLOY_HOOK = "no deploy hook; registry only"
_BODY_LIMIT = 200


def _display(url: str) -> str:
    """Return *url* without user info, so a password in it never reaches a message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class LocalBackend:
    """Roll back locally served models by calling their deploy hooks over HTTP.

    Parameters
    ----------
    deploy_urls
        Model name → deploy hook URL, e.g. ``{"churn": "http://127.0.0.1:8080/admin/deploy"}``.
        A model without one is rolled back in the registry only.
    timeout
        Seconds to wait for the hook to answer.
    """

    def __init__(self, *, deploy_urls: Mapping[str, str] | None = None,
                 timeout: float = 5.0) -> None:
        self.deploy_urls = dict(deploy_urls or {})
        for model, url in self.deploy_urls.items():
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"deploy_urls[{model!r}]: invalid URL {_display(url)!r}; "
                                 "use http://HOST:PORT/admin/deploy")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.timeout = timeout

    def rollback(self, request: RollbackRequest) -> ActionResult:
        """Ask the model's deploy hook to serve ``request.to_version``."""
        url = self.deploy_urls.get(request.model)
        if url is None:
            return ActionResult.succeeded(NO_DEPLOY_HOOK, to_version=request.to_version)
        shown = _display(url)
        body = {"version": request.to_version, "artifact": request.artifact}
        headers = {"Idempotency-Key": request.idempotency_key}
        log.info("deploying %s %s via %s", request.model, request.to_version, shown)
        try:
            # trust_env=False: a proxy from the environment must not see deploy calls.
            with httpx.Client(timeout=self.timeout, trust_env=False) as client:
                response = client.post(url, json=body, headers=headers)
        except httpx.TimeoutException:
            return ActionResult.failed(f"deploy hook {shown} did not answer within "
                                       f"{self.timeout:g}s")
        except httpx.HTTPError as exc:
            return ActionResult.failed(f"cannot reach deploy hook {shown}: "
                                       f"{type(exc).__name__}: {exc}")
        if not response.is_success:
            text = response.text.strip().replace("\n", " ")[:_BODY_LIMIT]
            return ActionResult.failed(f"deploy hook {shown} answered HTTP "
                                       f"{response.status_code}: {text or '(empty body)'}")
        return ActionResult.succeeded(
            f"deployed {request.model} {request.to_version} via {shown}",
            to_version=request.to_version, http_status=str(response.status_code))

    def retrain(self, request: RetrainRequest) -> ActionResult:
        """Say that the local backend does not retrain (yet)."""
        return ActionResult.unsupported(
            f"the local backend does not retrain models yet (model {request.model!r})")

    def scale(self, request: ScaleRequest) -> ActionResult:
        """Say that a local model server cannot be scaled."""
        return ActionResult.unsupported(
            f"the local backend cannot scale {request.direction.value} "
            f"(model {request.model!r}); use a backend that runs replicas")
