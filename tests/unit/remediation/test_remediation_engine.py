"""The remediation engine end to end on both databases, against a loopback deploy hook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from remediation_fakes import FakeDeployServer

from monitor.core.errors import ActionError
from monitor.core.matchers import parse_matchers
from monitor.core.model import ActionResult, Alert, AlertState, Labels
from monitor.core.time import FakeClock
from monitor.remediation import (
    Action,
    DryRunBackend,
    Guards,
    LocalBackend,
    RemediationBackend,
    RemediationEngine,
    RemediationPolicy,
    RetrainRequest,
    RollbackRequest,
    ScaleRequest,
    idempotency_key,
)
from monitor.store import Database
from monitor.store.registry import ModelRegistry
from monitor.store.runs import RunState, RunStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RemediationPolicy(
    name="rollback-churn-on-page", action=Action.ROLLBACK, backend="local",
    match={"severity": "page"}, matchers=parse_matchers('model=~"churn.*"'),
    guards=Guards(cooldown=timedelta(minutes=10)))


@dataclass
class Setup:
    engine: RemediationEngine
    runs: RunStore
    registry: ModelRegistry
    clock: FakeClock


def _setup(database: Database, backends: Mapping[str, RemediationBackend],
           policies: tuple[RemediationPolicy, ...] = (POLICY,),
           versions: tuple[str, ...] = ("v1", "v2"), production: str | None = "v2") -> Setup:
    clock = FakeClock(T0)
    registry, runs = ModelRegistry(database), RunStore(database)
    for i, version in enumerate(versions):
        registry.register("churn", version, f"models/churn/{version}.pt", {}, {},
                          T0 - timedelta(days=10 - i))
    if production:
        registry.set_alias("churn", "production", production, T0)
    engine = RemediationEngine(policies=policies, backends=backends, runs=runs,
                               registry=registry, clock=clock)
    return Setup(engine, runs, registry, clock)


def _alert(at: datetime, **labels: str) -> Alert:
    pairs = {"alertname": "ChurnHighErrorRate", "severity": "page", "model": "churn", **labels}
    return Alert(fingerprint=Labels(pairs).fingerprint(), name="ChurnHighErrorRate",
                 labels=Labels(pairs), annotations={}, state=AlertState.FIRING, value=0.12,
                 active_since=at - timedelta(minutes=5), fired_at=at, resolved_at=None,
                 updated_at=at)


def test_firing_alert_rolls_back_once_then_cools_down(
        database: Database, deploy_server: FakeDeployServer) -> None:
    s = _setup(database, {"local": LocalBackend(deploy_urls={"churn": deploy_server.url})})
    alert = _alert(T0)
    (run,) = s.engine.on_alert(alert)
    assert s.engine.on_alert(alert) == [run]  # a duplicate delivery of the same firing
    assert (run.state, run.model, run.idempotency_key) == (
        RunState.QUEUED, "churn", f"rollback-churn-on-page/{alert.fingerprint}/1772366400")
    assert run.reason == "ChurnHighErrorRate firing for churn since 2026-03-01T12:00:00Z " \
                         "(value 0.12)"

    s.clock.advance(timedelta(seconds=5))
    (done,) = s.engine.work()
    assert done.state is RunState.SUCCEEDED
    assert (done.outputs["from_version"], done.outputs["to_version"]) == ("v2", "v1")
    (call,) = deploy_server.calls
    assert call.body == {"version": "v1", "artifact": "models/churn/v1.pt"}
    assert call.headers["Idempotency-Key"] == run.idempotency_key
    assert s.registry.aliases("churn") == {"previous": "v1", "production": "v1",
                                           "rolled_back": "v2"}
    trail = s.runs.audit(run.id)
    assert [e.event for e in trail] == ["created", "running", "planned", "backend_called",
                                        "aliases_moved", "succeeded"]
    assert trail[0].actor == "watchkeeper" and trail[1].actor == "watchkeeper/worker-1"
    assert {k: trail[0].detail[k] for k in ("policy", "alert", "labels", "value")} == {
        "policy": "rollback-churn-on-page", "alert": "ChurnHighErrorRate",
        "labels": dict(alert.labels), "value": 0.12}
    assert trail[1].detail["queued_seconds"] == 5.0
    assert trail[3].detail["status"] == "succeeded"
    assert isinstance(trail[3].detail["duration_seconds"], float)
    assert s.engine.work() == []

    s.clock.advance(timedelta(minutes=3))  # the alert resolves and fires again
    (skipped,) = s.engine.on_alert(_alert(s.clock.now()))
    assert skipped.state is RunState.SKIPPED
    assert skipped.reason == ("cooldown: last rollback of churn at 2026-03-01T12:00:05Z "
                              "(10m cooldown)")
    assert s.runs.audit(skipped.id)[0].detail["guard"] == "cooldown"
    assert s.engine.work() == [] and len(deploy_server.calls) == 1

    s.clock.advance(timedelta(minutes=8))  # past the cooldown: never back to the bad v2
    (again,) = s.engine.on_alert(_alert(s.clock.now()))
    (done,) = s.engine.work()
    assert (again.state, done.state) == (RunState.QUEUED, RunState.FAILED)
    assert done.error == "no earlier version of churn to roll back to"
    assert len(deploy_server.calls) == 1


def test_failed_deploy_leaves_aliases_unchanged(
        database: Database, deploy_server: FakeDeployServer) -> None:
    deploy_server.status, deploy_server.answer = 500, {"error": "boom"}
    s = _setup(database, {"local": LocalBackend(deploy_urls={"churn": deploy_server.url})})
    (run,) = s.engine.on_alert(_alert(T0))
    (failed,) = s.engine.work()
    assert failed.state is RunState.FAILED
    assert failed.error == f'deploy hook {deploy_server.url} answered HTTP 500: {{"error": "boom"}}'
    assert s.registry.aliases("churn") == {"production": "v2"}
    trail = s.runs.audit(run.id)
    assert [e.event for e in trail] == ["created", "running", "planned", "backend_called",
                                        "failed"]
    assert trail[-1].detail == {"from": "running", "status": "failed", "error": failed.error}


def test_nothing_to_roll_back_to_fails_with_the_reason(database: Database) -> None:
    s = _setup(database, {"local": LocalBackend()}, versions=("v1",), production="v1")
    s.engine.on_alert(_alert(T0))
    (failed,) = s.engine.work()
    assert (failed.state, failed.error) == (
        RunState.FAILED, "no earlier version of churn to roll back to")


def test_model_without_production_alias_fails_with_the_reason(database: Database) -> None:
    s = _setup(database, {"local": LocalBackend()}, production=None)
    s.engine.on_alert(_alert(T0))
    (failed,) = s.engine.work()
    assert failed.error == ("churn has no production version in the model registry; "
                            "nothing to roll back from")


def test_alert_without_model_label_is_skipped_and_audited(database: Database) -> None:
    s = _setup(database, {"local": LocalBackend()})
    alert = replace(_alert(T0), labels=Labels({"severity": "page", "job": "x"}))
    assert s.engine.on_alert(alert) == []  # the matcher model=~"churn.*" needs the label
    policy = RemediationPolicy(name="any-page", action=Action.ROLLBACK, backend="local",
                               match={"severity": "page"})
    s = _setup(database, {"local": LocalBackend()}, policies=(policy,), versions=())
    (run,) = s.engine.on_alert(alert)
    assert (run.state, run.model) == (RunState.SKIPPED, "")
    assert run.reason == ("alert ChurnHighErrorRate has no 'model' label naming the model; "
                          "set model_label in the policy or add the label to the alert")
    assert [e.event for e in s.runs.audit(run.id)] == ["created"]
    assert s.engine.work() == []


def test_dry_run_says_what_it_would_do_and_changes_nothing(
        database: Database, deploy_server: FakeDeployServer) -> None:
    dry = RemediationPolicy(name="dry", action=Action.ROLLBACK, backend="local",
                            match={"model": "churn"}, guards=Guards(dry_run=True))
    s = _setup(database, {"local": LocalBackend(deploy_urls={"churn": deploy_server.url})},
               policies=(dry,))
    (run,) = s.engine.on_alert(_alert(T0))
    (done,) = s.engine.work()
    assert (run.dry_run, done.state) == (True, RunState.SUCCEEDED)
    assert done.outputs["would"] == "roll back churn from v2 to v1 on local"
    assert deploy_server.calls == []
    assert s.registry.aliases("churn") == {"production": "v2"}


def test_one_rollback_per_model_even_when_several_policies_match(database: Database) -> None:
    backend = DryRunBackend()
    policies = tuple(RemediationPolicy(name=name, action=Action.ROLLBACK, backend="dry-run",
                                       match={"severity": "page"}, priority=priority)
                     for name, priority in (("b", 10), ("a", 10), ("z", 5)))
    s = _setup(database, {"dry-run": backend}, policies=policies)
    runs = s.engine.on_alert(_alert(T0))
    assert [(r.policy, r.state) for r in runs] == [
        ("z", RunState.QUEUED), ("a", RunState.SKIPPED), ("b", RunState.SKIPPED)]
    assert runs[1].reason == f"in progress: rollback of churn is already queued as run {runs[0].id}"
    assert [r.policy for r in s.engine.work()] == ["z"]
    assert len(backend.requests) == 1


class _Raising:
    """A backend whose platform refuses every call."""

    def retrain(self, request: RetrainRequest) -> ActionResult:
        raise ActionError("quota exceeded", retryable=True)

    def rollback(self, request: RollbackRequest) -> ActionResult:
        raise ActionError("cluster unreachable", retryable=True)

    def scale(self, request: ScaleRequest) -> ActionResult:
        raise ValueError("bug in plugin")


def test_backend_errors_and_unsupported_actions_fail_the_run(database: Database) -> None:
    def policy(name: str, action: Action, backend: str) -> RemediationPolicy:
        return RemediationPolicy(name=name, action=action, backend=backend,
                                 match={"severity": "page"})

    s = _setup(database, {"local": LocalBackend(), "raising": _Raising()}, policies=(
        policy("1-rollback", Action.ROLLBACK, "raising"),
        policy("2-scale", Action.SCALE_UP, "local"),
        policy("3-scale", Action.SCALE_DOWN, "raising"),
        policy("4-webhook", Action.WEBHOOK, "local"),
        policy("5-retrain", Action.RETRAIN, "nowhere")))
    s.engine.on_alert(_alert(T0))
    errors = {run.policy: run.error for run in s.engine.work()}
    assert errors == {
        "1-rollback": "backend raising: cluster unreachable",
        "2-scale": "the local backend cannot scale up (model 'churn'); "
                   "use a backend that runs replicas",
        "3-scale": "backend raising raised ValueError: bug in plugin",
        "4-webhook": "webhook actions are not carried out yet; use rollback",
        "5-retrain": "no backend named 'nowhere' is configured; configured: local, raising"}
    first = s.runs.list(model="churn")[-1]
    assert s.runs.audit(first.id)[3].detail["retryable"] is True
    assert s.registry.aliases("churn") == {"production": "v2"}


def test_run_of_a_dead_worker_is_resumed_with_its_plan(database: Database) -> None:
    backend = DryRunBackend()
    policy = RemediationPolicy(name="p", action=Action.ROLLBACK, backend="dry-run",
                               match={"severity": "page"})
    s = _setup(database, {"dry-run": backend}, policies=(policy,), versions=("v1", "v2", "v3"),
               production="v3")
    (run,) = s.engine.on_alert(_alert(T0))
    assert s.runs.claim_next("worker-0", T0, timedelta(minutes=5)) is not None
    s.runs.record(run.id, T0, "worker-0", "planned", outputs={  # then worker-0 dies
        "from_version": "v3", "to_version": "v1", "artifact": "models/churn/v1.pt"})
    assert s.engine.work() == []  # the lease still holds
    s.clock.advance(timedelta(minutes=6))
    (done,) = s.engine.work()
    assert (done.state, done.outputs["to_version"]) == (RunState.SUCCEEDED, "v1")
    assert backend.requests == [RollbackRequest(
        idempotency_key=run.idempotency_key, model="churn", from_version="v3", to_version="v1",
        artifact="models/churn/v1.pt", reason=run.reason)]
    events = [e.event for e in s.runs.audit(run.id)]
    assert events.count("resumed") == 1 and events[-1] == "succeeded"


def test_idempotency_key_stays_within_the_column() -> None:
    key = idempotency_key("p" * 250, _alert(T0))
    assert len(key) <= 200 and key != idempotency_key("p" * 249 + "q", _alert(T0))
