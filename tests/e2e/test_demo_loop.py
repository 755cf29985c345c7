"""The demo scenario, headless, end to end: burn → page → rollback → resolve.

Everything is real: the torch trainer trains two versions, the demo model server serves
them, the traffic generator sends requests, Watchkeeper scrapes, evaluates, notifies
(console receiver) and rolls back through the local backend on SQLite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.core.model import AlertState
from monitor.demo import DemoRun, run_demo
from monitor.store import Database
from monitor.store.alerts import AlertStore
from monitor.store.outbox import OutboxStore
from monitor.store.registry import ModelRegistry
from monitor.store.runs import RunStore

pytestmark = pytest.mark.slow


def _get(base: str, path: str) -> Any:
    response = httpx.get(base + path, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def test_demo_completes_the_loop_in_order(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, Any] = {}

    def inspect(run: DemoRun) -> None:
        seen["alerts"] = _get(run.base_url, "/api/v1/alerts")
        seen["actions"] = _get(run.base_url, "/api/v1/actions")
        seen["action"] = _get(run.base_url, f"/api/v1/actions/{seen['actions'][0]['id']}")
        seen["models"] = _get(run.base_url, "/api/v1/models")
        seen["notifications"] = _get(run.base_url, "/api/v1/notifications")
        seen["order"] = list(run.progress.order)
        seen["serving"] = httpx.get(run.model_url + "/admin/state", timeout=5).json()

    assert run_demo(headless=True, workdir=tmp_path, timeout=200, on_complete=inspect) == 0
    out = capsys.readouterr().out
    assert "loop completed in" in out

    # From the API, while the service was still running.
    (alert,) = [a for a in seen["alerts"] if a["name"] == "ChurnErrorBudgetBurn"]
    assert alert["state"] == "resolved"
    assert alert["labels"]["severity"] == "page"
    assert alert["annotations"]["runbook_url"].endswith("/runbooks/slo-burn.md")
    (action,) = seen["actions"]
    assert (action["action"], action["model"], action["state"]) == (
        "rollback", "churn", "succeeded")
    assert action["outputs"] == {"from_version": "v2", "to_version": "v1"} | {
        k: v for k, v in action["outputs"].items() if k not in ("from_version", "to_version")}
    assert [e["event"] for e in seen["action"]["audit"]][-1] == "succeeded"
    (model,) = seen["models"]
    assert model["aliases"]["production"] == "v1"
    assert seen["serving"]["production"] == "v1"
    assert seen["order"].index("fired") < seen["order"].index("rolled_back") < seen[
        "order"].index("resolved")

    # From the database, after the service stopped.
    db = Database(f"sqlite:///{tmp_path / 'watchkeeper.db'}")
    try:
        transitions = [(t.name, t.to_state) for t in AlertStore(db).transitions()]
        assert transitions == [("ChurnErrorBudgetBurn", AlertState.FIRING),
                               ("ChurnErrorBudgetBurn", AlertState.RESOLVED)]
        (stored,) = AlertStore(db).all()
        sent = [e for e in OutboxStore(db).list() if e.notification.status.value == "firing"]
        assert len(sent) == 1 and sent[0].status == "sent"
        (run,) = RunStore(db).list()
        assert stored.fired_at is not None and stored.resolved_at is not None
        assert run.started_at is not None and run.finished_at is not None
        assert stored.fired_at <= run.started_at <= run.finished_at <= stored.resolved_at
        assert ModelRegistry(db).aliases("churn")["production"] == "v1"
        events = [e.event for e in RunStore(db).audit(run.id)]
        assert events[0] != events[-1] and events[-1] == "succeeded"
    finally:
        db.dispose()
    log = (tmp_path / "notifications.log").read_text()
    assert "ChurnErrorBudgetBurn" in log and "runbooks/slo-burn.md" in log
