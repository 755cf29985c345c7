"""Action runs on both databases: idempotent creation, transitions, leases, audit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from monitor.store import Database
from monitor.store.runs import (
    InvalidTransitionError,
    RunRequest,
    RunState,
    RunStore,
    UnknownRunError,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _request(key: str = "p/abc/1", **changes: object) -> RunRequest:
    fields: dict[str, object] = {
        "idempotency_key": key, "policy": "p", "action": "rollback", "backend": "local",
        "model": "churn", "alert_fingerprint": "abc", "alert_name": "HighErrors",
        "reason": "HighErrors firing", "actor": "watchkeeper", "parameters": {"k": "v"}}
    fields.update(changes)
    return RunRequest(**fields)  # type: ignore[arg-type]


def test_create_is_idempotent_on_the_key(database: Database) -> None:
    runs = RunStore(database)
    first, created = runs.create(_request(), T0, {"labels": {"model": "churn"}})
    again, created_again = runs.create(_request(reason="other"), T0 + timedelta(seconds=5))
    assert (created, created_again) == (True, False)
    assert again == first
    assert (first.state, first.reason, dict(first.parameters)) == (
        RunState.QUEUED, "HighErrors firing", {"k": "v"})
    assert first.created_at == T0 and first.finished_at is None
    (event,) = runs.audit(first.id)
    assert (event.event, event.actor, event.at) == ("created", "watchkeeper", T0)
    assert event.detail == {"state": "queued", "reason": "HighErrors firing",
                            "labels": {"model": "churn"}}
    assert runs.find("p/abc/1") == first and runs.find("nope") is None
    assert len(runs.list()) == 1


def test_create_races_store_one_run(database: Database) -> None:
    runs = RunStore(database)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(runs.create(_request(), T0)[1]))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    assert len(runs.list()) == 1


def test_a_skipped_run_is_final_at_creation(database: Database) -> None:
    runs = RunStore(database)
    run, _ = runs.create(_request(state=RunState.SKIPPED, reason="cooldown"), T0)
    assert (run.state, run.finished_at) == (RunState.SKIPPED, T0)
    assert runs.claim_next("w1", T0, LEASE) is None


def test_run_request_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="idempotency_key must be 1 to 200 characters"):
        _request(key="")
    with pytest.raises(ValueError, match="a run starts proposed, awaiting_approval, queued or "
                                         "skipped, got running"):
        _request(state=RunState.RUNNING)


def test_transitions_record_times_outputs_and_audit(database: Database) -> None:
    runs = RunStore(database)
    run, _ = runs.create(_request(), T0)
    claimed = runs.claim_next("w1", T0 + timedelta(seconds=1), LEASE)
    assert claimed is not None and claimed.id == run.id
    assert (claimed.state, claimed.started_at, claimed.lease_owner, claimed.lease_expires) == (
        RunState.RUNNING, T0 + timedelta(seconds=1), "w1", T0 + timedelta(seconds=1) + LEASE)
    runs.record(run.id, T0 + timedelta(seconds=2), "w1", "planned", {"to": "v1"},
                outputs={"to_version": "v1"})
    done = runs.transition(run.id, RunState.SUCCEEDED, T0 + timedelta(seconds=3), "w1",
                           {"detail": "ok"}, outputs={"from_version": "v2"})
    assert done.state is RunState.SUCCEEDED
    assert dict(done.outputs) == {"to_version": "v1", "from_version": "v2"}
    assert (done.finished_at, done.lease_expires) == (T0 + timedelta(seconds=3), None)
    trail = runs.audit(run.id)
    assert [e.event for e in trail] == ["created", "running", "planned", "succeeded"]
    assert trail[1].detail["queued_seconds"] == 1.0
    assert trail[3].detail == {"from": "running", "detail": "ok"}
    assert [e.at for e in trail] == sorted(e.at for e in trail)


def test_invalid_transition_is_refused_with_from_and_to(database: Database) -> None:
    runs = RunStore(database)
    run, _ = runs.create(_request(), T0)
    with pytest.raises(InvalidTransitionError) as info:
        runs.transition(run.id, RunState.SUCCEEDED, T0, "w1")
    assert str(info.value) == (f"action run {run.id}: cannot go from queued to succeeded; "
                               "from queued it may go to cancelled, running, skipped")
    runs.transition(run.id, RunState.CANCELLED, T0, "alice", {"why": "not needed"})
    with pytest.raises(InvalidTransitionError, match="it may go to nothing \\(it is final\\)"):
        runs.transition(run.id, RunState.QUEUED, T0, "alice")
    assert [e.event for e in runs.audit(run.id)] == ["created", "cancelled"]
    with pytest.raises(UnknownRunError, match="no action run with id 999"):
        runs.transition(999, RunState.CANCELLED, T0, "alice")


def test_failure_keeps_the_error(database: Database) -> None:
    runs = RunStore(database)
    run, _ = runs.create(_request(), T0)
    runs.claim_next("w1", T0, LEASE)
    failed = runs.transition(run.id, RunState.FAILED, T0, "w1", error="HTTP 500")
    assert (failed.state, failed.error) == (RunState.FAILED, "HTTP 500")
    assert runs.audit(run.id)[-1].detail == {"from": "running", "error": "HTTP 500"}


def test_claim_takes_oldest_first_and_respects_leases(database: Database) -> None:
    runs = RunStore(database)
    first, _ = runs.create(_request("k1"), T0)
    second, _ = runs.create(_request("k2"), T0)
    a = runs.claim_next("w1", T0, LEASE)
    b = runs.claim_next("w2", T0, LEASE)
    assert (a and a.id, b and b.id) == (first.id, second.id)
    assert runs.claim_next("w3", T0 + LEASE - timedelta(seconds=1), LEASE) is None


def test_expired_lease_is_resumed_exactly_once(database: Database) -> None:
    runs = RunStore(database)
    run, _ = runs.create(_request(), T0)
    assert runs.claim_next("w1", T0, LEASE) is not None  # w1 dies holding it
    later = T0 + LEASE + timedelta(seconds=1)
    resumed = runs.claim_next("w2", later, LEASE)
    assert resumed is not None and resumed.id == run.id
    assert (resumed.state, resumed.lease_owner, resumed.started_at) == (
        RunState.RUNNING, "w2", T0)
    assert runs.claim_next("w3", later, LEASE) is None
    trail = runs.audit(run.id)
    assert [e.event for e in trail] == ["created", "running", "resumed"]
    assert (trail[2].actor, trail[2].detail["previous_owner"]) == ("w2", "w1")


def test_concurrent_workers_claim_each_run_once(database: Database) -> None:
    runs = RunStore(database)
    for i in range(20):
        runs.create(_request(f"k{i}"), T0)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (run := runs.claim_next(name, T0, LEASE)) is not None:
            with lock:
                claimed.append(run.id)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted({r.id for r in runs.list(limit=100)})
    assert len(claimed) == 20


def test_last_finished_and_list_filters(database: Database) -> None:
    runs = RunStore(database)
    old, _ = runs.create(_request("k1"), T0)
    new, _ = runs.create(_request("k2"), T0)
    dry, _ = runs.create(_request("k3", dry_run=True), T0)
    other, _ = runs.create(_request("k4", model="fraud"), T0)
    for run_id, at in ((old.id, 10), (new.id, 20), (dry.id, 30), (other.id, 40)):
        runs.claim_next("w1", T0, LEASE)
        runs.transition(run_id, RunState.SUCCEEDED, T0 + timedelta(seconds=at), "w1")
    done = {RunState.SUCCEEDED}
    last = runs.last_finished("churn", "rollback", done, dry_run=False)
    assert last is not None and last.id == new.id
    last_any = runs.last_finished("churn", "rollback", done)
    assert last_any is not None and last_any.id == dry.id
    assert runs.last_finished("churn", "retrain", done) is None
    assert runs.last_finished("churn", "rollback", {RunState.FAILED}) is None
    assert [r.id for r in runs.list(model="churn")] == [dry.id, new.id, old.id]
    assert [r.id for r in runs.list(limit=1)] == [other.id]
    assert runs.list(state=RunState.QUEUED) == []
    assert runs.get(old.id) == runs.list(model="churn")[-1] and runs.get(999) is None
