"""The HTTP API: health, /metrics, JSON under /api/v1/, and the runbooks alerts link to."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor.alerting import absolute_links
from monitor.config import fmt_duration
from monitor.core.errors import StoreError
from monitor.core.model import AlertState
from monitor.service.api_alertmanager import register as register_alertmanager
from monitor.service.api_silences import register as register_silences
from monitor.service.loop import Loop
from monitor.service.metrics import build_registry
from monitor.slo.model import SLOSpec
from monitor.slo.windows import fmt_window

__all__ = ["RUNBOOKS", "create_app", "to_json"]

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def to_json(value: Any) -> Any:
    """Turn dataclasses, enums, datetimes and durations into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return fmt_duration(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _spec_summary(spec: SLOSpec) -> dict[str, Any]:
    return {
        "name": spec.name, "service": spec.service, "objective": spec.objective,
        "window": fmt_window(spec.window), "origin": spec.origin,
        "calendar": to_json(spec.calendar), "budgeting": spec.budgeting.value,
        "sli_kind": type(spec.sli).__name__, "source": spec.source.value,
        "group_by": list(spec.group_by), "min_events": spec.min_events,
        "where": str(spec.where) if spec.where else "",
        "tiers": [{"severity": w.severity.value, "windows": w.pair, "factor": w.factor,
                   "for": fmt_duration(w.for_duration)} for w in spec.alerting.windows],
    }


def create_app(loop: Loop) -> FastAPI:
    """Build the FastAPI application over a running loop."""
    app = FastAPI(title="Watchkeeper", version="v1")
    wk = loop.app
    registry = build_registry(loop)

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            revision = wk.db.current_revision()
        except StoreError as exc:
            return PlainTextResponse(f"database unavailable: {exc}", status_code=503)
        if revision is None:
            return PlainTextResponse("database not migrated; run watchkeeper db upgrade",
                                     status_code=503)
        return PlainTextResponse(f"ready (schema {revision})")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/alerts")
    def alerts(state: str | None = Query(default=None)) -> dict[str, Any]:
        states = None
        if state:
            try:
                states = [AlertState(s) for s in state.split(",")]
            except ValueError as exc:
                raise HTTPException(400, f"state: {exc}; use "
                                    + ", ".join(s.value for s in AlertState)) from exc
        out = []
        for alert in wk.alerts.all(states):
            item = to_json(alert)
            item["annotations"] = absolute_links(alert.annotations, wk.base_url)
            out.append(item)
        return {"status": "success", "data": out}

    @app.get("/api/v1/alerts/transitions")
    def transitions() -> dict[str, Any]:
        return {"status": "success", "data": to_json(wk.alerts.transitions())}

    @app.get("/api/v1/slos")
    def slos() -> dict[str, Any]:
        return {"status": "success", "data": to_json(loop.report.slo_statuses),
                "evaluated_at": to_json(loop.report.last_evaluation)}

    @app.get("/api/v1/slos/{name}")
    def slo(name: str) -> dict[str, Any]:
        statuses = [st for st in loop.report.slo_statuses if st.name == name]
        specs = [spec for spec in wk.rules.slos if spec.name == name]
        if not specs:
            known = ", ".join(sorted(spec.name for spec in wk.rules.slos)) or "none"
            raise HTTPException(404, f"no SLO named {name!r}; known: {known}")
        alerts = [to_json(a) for a in wk.alerts.all() if a.labels.get("slo") == name]
        return {"status": "success", "data": {
            "spec": _spec_summary(specs[0]), "statuses": to_json(statuses), "alerts": alerts},
            "evaluated_at": to_json(loop.report.last_evaluation)}

    @app.get("/api/v1/targets")
    def targets() -> dict[str, Any]:
        return {"status": "success", "data": to_json(wk.targets.all())}

    @app.get("/api/v1/notifications")
    def notifications(status: str | None = None) -> dict[str, Any]:
        return {"status": "success", "data": to_json(wk.outbox.list(status=status))}

    @app.get("/api/v1/actions")
    def actions(limit: int = 100) -> dict[str, Any]:
        return {"status": "success", "data": to_json(wk.runs.list(limit=limit))}

    @app.get("/api/v1/actions/{run_id}")
    def action(run_id: int) -> dict[str, Any]:
        run = wk.runs.get(run_id)
        if run is None:
            raise HTTPException(404, f"no action run {run_id}")
        return {"status": "success",
                "data": {**to_json(run), "audit": to_json(wk.runs.audit(run_id))}}

    @app.get("/api/v1/models")
    def models() -> dict[str, Any]:
        data = [{"model": m, "aliases": wk.registry.aliases(m),
                 "versions": to_json(wk.registry.versions(m))} for m in wk.registry.models()]
        return {"status": "success", "data": data}

    @app.get("/runbooks/{name}", response_class=PlainTextResponse)
    def runbook(name: str) -> str:
        path = (RUNBOOKS / name).resolve()
        if path.parent != RUNBOOKS or not path.is_file():
            raise HTTPException(404, f"no runbook named {name!r}")
        return path.read_text(encoding="utf-8")

    register_silences(app, loop)
    register_alertmanager(app, loop)
    return app
