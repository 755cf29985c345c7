"""The local and dry-run backends, and the backend registry."""

from __future__ import annotations

import socket

import pytest
from remediation_fakes import FakeDeployServer

from monitor.core.model import ActionStatus
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
from monitor.remediation.backends.local import NO_DEPLOY_HOOK

ROLLBACK = RollbackRequest(idempotency_key="p/abc/1", model="churn", from_version="v2",
                           to_version="v1", artifact="models/churn/v1.pt", reason="errors")


def test_rollback_posts_version_and_artifact(deploy_server: FakeDeployServer) -> None:
    backend = LocalBackend(deploy_urls={"churn": deploy_server.url})
    result = backend.rollback(ROLLBACK)
    assert result.status is ActionStatus.SUCCEEDED
    assert result.detail == f"deployed churn v1 via {deploy_server.url}"
    assert dict(result.outputs) == {"to_version": "v1", "http_status": "200"}
    (call,) = deploy_server.calls
    assert call.path == "/admin/deploy"
    assert call.body == {"version": "v1", "artifact": "models/churn/v1.pt"}
    assert call.headers["Idempotency-Key"] == "p/abc/1"
    assert call.headers["Content-Type"] == "application/json"


def test_unknown_version_answer_is_a_failure_with_the_reason(
        deploy_server: FakeDeployServer) -> None:
    deploy_server.status, deploy_server.answer = 404, {"error": "unknown version 'v1'"}
    result = LocalBackend(deploy_urls={"churn": deploy_server.url}).rollback(ROLLBACK)
    assert result.status is ActionStatus.FAILED
    assert result.detail == (f"deploy hook {deploy_server.url} answered HTTP 404: "
                             '{"error": "unknown version \'v1\'"}')


def test_timeout_is_a_failure(deploy_server: FakeDeployServer) -> None:
    deploy_server.hold.set()
    backend = LocalBackend(deploy_urls={"churn": deploy_server.url}, timeout=0.2)
    result = backend.rollback(ROLLBACK)
    assert (result.status, result.detail) == (
        ActionStatus.FAILED, f"deploy hook {deploy_server.url} did not answer within 0.2s")


def test_unreachable_hook_is_a_failure_without_the_password() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = LocalBackend(deploy_urls={"churn": f"http://ops:s3cret@127.0.0.1:{port}/deploy"})
    result = backend.rollback(ROLLBACK)
    assert result.status is ActionStatus.FAILED
    assert result.detail.startswith(f"cannot reach deploy hook http://127.0.0.1:{port}/deploy: "
                                    "ConnectError")
    assert "s3cret" not in result.detail


def test_model_without_hook_is_rolled_back_in_the_registry_only() -> None:
    result = LocalBackend(deploy_urls={}).rollback(ROLLBACK)
    assert (result.status, result.detail) == (ActionStatus.SUCCEEDED, NO_DEPLOY_HOOK)


def test_local_backend_cannot_retrain_or_scale() -> None:
    backend = LocalBackend()
    retrain = backend.retrain(RetrainRequest(idempotency_key="k", model="churn"))
    scale = backend.scale(ScaleRequest(idempotency_key="k", model="churn",
                                       direction=ScaleDirection.UP))
    assert retrain.status is scale.status is ActionStatus.UNSUPPORTED
    assert scale.detail == ("the local backend cannot scale up (model 'churn'); "
                            "use a backend that runs replicas")


def test_local_backend_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="deploy_urls\\['churn'\\]: invalid URL "
                                         "'ftp://h/deploy'; use http://HOST:PORT/admin/deploy"):
        LocalBackend(deploy_urls={"churn": "ftp://u:pw@h/deploy"})
    with pytest.raises(ValueError, match="timeout must be > 0 seconds, got 0"):
        LocalBackend(timeout=0)


def test_dry_run_backend_records_and_changes_nothing() -> None:
    backend = DryRunBackend()
    result = backend.rollback(ROLLBACK)
    backend.scale(ScaleRequest(idempotency_key="k", model="churn", direction=ScaleDirection.DOWN))
    assert (result.status, result.detail) == (ActionStatus.SUCCEEDED, "dry run")
    assert backend.requests[0] == ROLLBACK and len(backend.requests) == 2


def test_registry_builds_the_built_in_backends() -> None:
    assert {"local", "dry-run"} <= set(backends.names())
    local = backends.create("local", deploy_urls={"churn": "http://127.0.0.1:1/deploy"})
    assert isinstance(local, LocalBackend) and isinstance(local, RemediationBackend)
    assert isinstance(backends.create("dry-run"), DryRunBackend)


def test_requests_check_their_invariants() -> None:
    with pytest.raises(ValueError, match="idempotency_key must not be empty"):
        RetrainRequest(idempotency_key="", model="churn")
    with pytest.raises(ValueError, match="request 'k': model must not be empty"):
        ScaleRequest(idempotency_key="k", model="", direction=ScaleDirection.UP)
    with pytest.raises(ValueError, match="to_version 'v2' is the version being served"):
        RollbackRequest(idempotency_key="k", model="churn", from_version="v2", to_version="v2")
