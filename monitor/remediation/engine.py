"""The remediation engine: firing alerts → guarded, audited action runs → backends.

:meth:`RemediationEngine.on_alert` turns a firing alert into runs, one per matching
policy, idempotent on ``policy/fingerprint/fired_at`` so a duplicate delivery of one
firing makes one run. :meth:`RemediationEngine.work` claims queued runs and carries them
out. Every step is written to the run's audit trail.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from monitor.core.errors import ActionError, StoreError
from monitor.core.model import ActionResult, ActionStatus, Alert
from monitor.core.time import Clock, to_epoch
from monitor.remediation.backends.base import (
    RemediationBackend,
    RetrainRequest,
    RollbackRequest,
    ScaleDirection,
    ScaleRequest,
)
from monitor.remediation.guards import CooldownGuard, iso
from monitor.remediation.policy import Action, RemediationPolicy, matching
from monitor.store.registry import PREVIOUS, PRODUCTION, ROLLED_BACK, ModelRegistry
from monitor.store.runs import ActionRun, RunRequest, RunState, RunStore

__all__ = ["ACTOR", "RemediationEngine", "idempotency_key"]

log = logging.getLogger(__name__)
ACTOR = "watchkeeper"
_KEY_LIMIT = 200


def idempotency_key(policy: str, alert: Alert) -> str:
    """Return ``policy/fingerprint/fired_at`` (Unix seconds): one run per policy and firing."""
    fired = alert.fired_at or alert.active_since or alert.updated_at
    key = f"{policy}/{alert.fingerprint}/{int(to_epoch(fired))}"
    if len(key) > _KEY_LIMIT:  # the column holds 200 characters; keep long names unique
        digest = hashlib.sha256(policy.encode()).hexdigest()[:16]
        key = f"{policy[:100]}~{digest}/{alert.fingerprint}/{int(to_epoch(fired))}"
    return key


class _RunFailed(Exception):
    """A step of a run failed in a way that ends the run as failed."""

    def __init__(self, error: str, **detail: object) -> None:
        super().__init__(error)
        self.detail = detail


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    from_version: str
    to_version: str
    artifact: str

    def outputs(self) -> dict[str, str]:
        return {"from_version": self.from_version, "to_version": self.to_version,
                "artifact": self.artifact}


class RemediationEngine:
    """Match alerts to policies, guard, queue, and carry out runs on backends.

    Parameters
    ----------
    policies
        The loaded ``RemediationPolicy`` objects.
    backends
        Built backends by the name policies use (``local``, ``dry-run``...).
    runs, registry
        The run store and the model registry.
    clock
        The time source; tests pass a :class:`~monitor.core.time.FakeClock`.
    worker_id
        Names this worker in leases and in the audit trail.
    lease
        How long a claimed run stays with this worker before another may resume it.
    """

    def __init__(self, *, policies: Sequence[RemediationPolicy],
                 backends: Mapping[str, RemediationBackend], runs: RunStore,
                 registry: ModelRegistry, clock: Clock, worker_id: str = "worker-1",
                 lease: timedelta = timedelta(minutes=5)) -> None:
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        self.policies = sorted(policies, key=lambda p: p.order)
        self.backends = dict(backends)
        self.runs, self.registry, self.clock = runs, registry, clock
        self.worker_id, self.lease = worker_id, lease
        self.actor = f"{ACTOR}/{worker_id}"
        self.guard = CooldownGuard(runs)

    # -- proposing ---------------------------------------------------------------------
    def on_alert(self, alert: Alert) -> list[ActionRun]:
        """Create (or find) one run per policy that *alert* matches, in policy order.

        A run is ``queued``, or ``skipped`` with the reason when the alert has no model
        label or a guard says no. Returns the runs, including ones created by an
        earlier delivery of the same firing.
        """
        return [self._propose(policy, alert) for policy in matching(self.policies, alert.labels)]

    def _propose(self, policy: RemediationPolicy, alert: Alert) -> ActionRun:
        key = idempotency_key(policy.name, alert)
        existing = self.runs.find(key)
        if existing is not None:
            log.debug("policy %s: alert %s already has run %s", policy.name, alert.name,
                      existing.id)
            return existing
        now = self.clock.now()
        model = alert.labels.get(policy.model_label, "")
        fired = alert.fired_at or alert.updated_at
        detail: dict[str, object] = {
            "policy": policy.name, "action": policy.action.value, "backend": policy.backend,
            "model": model, "dry_run": policy.guards.dry_run, "alert": alert.name,
            "fingerprint": alert.fingerprint, "labels": dict(alert.labels),
            "value": alert.value, "fired_at": iso(fired)}
        if not model:
            state = RunState.SKIPPED
            reason = (f"alert {alert.name} has no {policy.model_label!r} label naming the "
                      "model; set model_label in the policy or add the label to the alert")
        else:
            verdict = self.guard.check(policy, model, now)
            state = RunState.QUEUED if verdict.allowed else RunState.SKIPPED
            reason = verdict.reason or (f"{alert.name} firing for {model} since {iso(fired)} "
                                        f"(value {alert.value:g})")
            if verdict.guard:
                detail["guard"] = verdict.guard
        request = RunRequest(
            idempotency_key=key, policy=policy.name, action=policy.action.value,
            backend=policy.backend, model=model, state=state,
            alert_fingerprint=alert.fingerprint, alert_name=alert.name, reason=reason,
            actor=ACTOR, dry_run=policy.guards.dry_run, parameters=policy.parameters)
        run, created = self.runs.create(request, now, detail)
        if created:
            log.info("policy %s: %s %s of %s (run %s): %s", policy.name, run.state,
                     run.action, model or "?", run.id, reason)
        return run

    # -- carrying out --------------------------------------------------------------------
    def work(self, *, limit: int = 100) -> list[ActionRun]:
        """Claim and carry out queued runs (and expired leases) one by one; return them."""
        done: list[ActionRun] = []
        for _ in range(limit):
            run = self.runs.claim_next(self.actor, self.clock.now(), self.lease)
            if run is None:
                break
            done.append(self._execute(run))
        return done

    def _execute(self, run: ActionRun) -> ActionRun:
        try:
            if run.action != Action.ROLLBACK:
                return self._other(run)
            return self._rollback(run)
        except _RunFailed as failure:
            log.warning("run %s (%s of %s) failed: %s", run.id, run.action, run.model, failure)
            return self.runs.transition(run.id, RunState.FAILED, self.clock.now(), self.actor,
                                        failure.detail, error=str(failure))

    def _backend(self, run: ActionRun) -> RemediationBackend:
        backend = self.backends.get(run.backend)
        if backend is None:
            configured = ", ".join(sorted(self.backends)) or "none"
            raise _RunFailed(f"no backend named {run.backend!r} is configured; "
                             f"configured: {configured}")
        return backend

    def _rollback(self, run: ActionRun) -> ActionRun:
        plan = self._plan(run)
        if run.dry_run:
            return self._succeed(run, {
                **plan.outputs(),
                "would": f"roll back {run.model} from {plan.from_version} to "
                         f"{plan.to_version} on {run.backend}"}, "dry run: nothing changed")
        backend = self._backend(run)
        request = RollbackRequest(
            idempotency_key=run.idempotency_key, model=run.model,
            from_version=plan.from_version, to_version=plan.to_version,
            artifact=plan.artifact, parameters=run.parameters, reason=run.reason)
        result = self._call(run, partial(backend.rollback, request))
        aliases = self._aliases_after_rollback(run.model, plan)
        try:
            self.registry.set_aliases(run.model, aliases, self.clock.now())
        except StoreError as exc:
            raise _RunFailed(f"the backend rolled {run.model} back to {plan.to_version} but "
                             f"the registry was not updated: {exc}") from exc
        self.runs.record(run.id, self.clock.now(), self.actor, "aliases_moved", aliases)
        return self._succeed(run, {**result.outputs, **plan.outputs()}, result.detail)

    def _aliases_after_rollback(self, model: str, plan: _Plan) -> dict[str, str]:
        """Point ``production`` at the target and ``previous`` at the version before it.

        ``previous`` never points at the version just rolled away from (kept as
        ``rolled_back``), so a later rollback goes further back, not to the bad one.
        """
        aliases = {PRODUCTION: plan.to_version, ROLLED_BACK: plan.from_version}
        older = [v.version for v in self.registry.versions(model)]
        index = older.index(plan.to_version) if plan.to_version in older else 0
        aliases[PREVIOUS] = older[index - 1] if index > 0 else plan.to_version
        return aliases

    def _plan(self, run: ActionRun) -> _Plan:
        """Choose from/to versions, or reuse the choice of a run being resumed."""
        out = run.outputs
        if out.get("from_version") and out.get("to_version"):
            return _Plan(from_version=out["from_version"], to_version=out["to_version"],
                         artifact=out.get("artifact", ""))
        current = self.registry.alias(run.model, PRODUCTION)
        if current is None:
            raise _RunFailed(f"{run.model} has no {PRODUCTION} version in the model registry; "
                             "nothing to roll back from")
        target = self.registry.rollback_target(run.model)
        if target is None:
            raise _RunFailed(f"no earlier version of {run.model} to roll back to",
                             production=current.version)
        plan = _Plan(from_version=current.version, to_version=target.version,
                     artifact=target.artifact)
        self.runs.record(run.id, self.clock.now(), self.actor, "planned", plan.outputs(),
                         outputs=plan.outputs())
        return plan

    def _other(self, run: ActionRun) -> ActionRun:
        action = Action(run.action)
        if action is Action.WEBHOOK:
            raise _RunFailed("webhook actions are not carried out yet; use rollback")
        if run.dry_run:
            return self._succeed(run, {"would": f"{action} {run.model} on {run.backend}"},
                                 "dry run: nothing changed")
        backend = self._backend(run)
        call: Callable[[], ActionResult]
        if action is Action.RETRAIN:
            retrain = RetrainRequest(idempotency_key=run.idempotency_key, model=run.model,
                                     parameters=run.parameters, reason=run.reason)
            call = partial(backend.retrain, retrain)
        else:
            direction = ScaleDirection.UP if action is Action.SCALE_UP else ScaleDirection.DOWN
            scale = ScaleRequest(idempotency_key=run.idempotency_key, model=run.model,
                                 direction=direction, parameters=run.parameters,
                                 reason=run.reason)
            call = partial(backend.scale, scale)
        result = self._call(run, call)
        return self._succeed(run, dict(result.outputs), result.detail)

    def _call(self, run: ActionRun, call: Callable[[], ActionResult]) -> ActionResult:
        """Call the backend, audit the call with its duration; raise unless it succeeded."""
        started = time.perf_counter()
        retryable: bool | None = None
        try:
            result = call()
        except ActionError as exc:
            result, retryable = ActionResult.failed(f"backend {run.backend}: {exc}"), exc.retryable
        except Exception as exc:  # a faulty plugin must not leave the run running forever
            log.exception("backend %s raised on run %s", run.backend, run.id)
            result = ActionResult.failed(f"backend {run.backend} raised "
                                         f"{type(exc).__name__}: {exc}")
        detail: dict[str, object] = {
            "backend": run.backend, "status": result.status.value, "detail": result.detail,
            "duration_seconds": round(time.perf_counter() - started, 6)}
        if retryable is not None:
            detail["retryable"] = retryable
        self.runs.record(run.id, self.clock.now(), self.actor, "backend_called", detail)
        if result.status is not ActionStatus.SUCCEEDED:
            raise _RunFailed(result.detail or f"backend {run.backend}: {result.status}",
                             status=result.status.value)
        return result

    def _succeed(self, run: ActionRun, outputs: Mapping[str, str], detail: str) -> ActionRun:
        log.info("run %s: %s of %s succeeded: %s", run.id, run.action, run.model, detail)
        return self.runs.transition(run.id, RunState.SUCCEEDED, self.clock.now(), self.actor,
                                    {"detail": detail}, outputs={**outputs, "detail": detail})
