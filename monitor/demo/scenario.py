"""``watchkeeper demo``: an endpoint burns its budget; Watchkeeper pages, rolls back, resolves."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.demo.events import DemoEvent, EventFeed, Progress
from monitor.demo.processes import (
    ModelServerProcess,
    free_port,
    read_metrics,
    run_job,
    start_traffic,
    stop_process,
)
from monitor.demo.view import HeadlessView, LiveView, View
from monitor.service.assembly import Watchkeeper
from monitor.service.server import Server

__all__ = ["DemoRun", "run_demo"]

FILES = Path(__file__).parent / "files"
MODEL = "churn"
FAULTY, GOOD = "v2", "v1"
ERROR_RATE = 0.5
WARMUP_SECONDS = 12.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoRun:
    """A running demo, handed to ``on_complete`` before anything is stopped."""

    workdir: Path
    base_url: str
    model_url: str
    server: Server
    progress: Progress
    events: tuple[DemoEvent, ...]


def _prepare(workdir: Path, view: View) -> dict[str, Path]:
    view.note("training two versions of the churn model (torch, seeded)")
    run_job(["trainers.data", "--out", "data.parquet", "--rows", "2000", "--seed", "7"],
            cwd=workdir, what="making the demo data set")
    versions = {}
    for seed, version in ((1, GOOD), (2, FAULTY)):
        out = workdir / "models" / MODEL / version
        run_job(["trainers.tabular", "--data", "data.parquet", "--target", "churned",
                 "--out", str(out), "--seed", str(seed), "--version", version],
                cwd=workdir, what=f"training {MODEL} {version}")
        versions[version] = out
    return versions


def _configure(workdir: Path, model_port: int) -> Path:
    shutil.copytree(FILES / "rules", workdir / "rules", dirs_exist_ok=True)
    text = (FILES / "watchkeeper.yaml").read_text(encoding="utf-8")
    config = workdir / "watchkeeper.yaml"
    config.write_text(text.replace("{port}", str(free_port())).replace(
        "{model_port}", str(model_port)), encoding="utf-8")
    return config


def _register(app: Watchkeeper, versions: dict[str, Path]) -> None:
    now = app.clock.now()
    for version, path in versions.items():
        app.registry.register(MODEL, version, str(path), read_metrics(path / "metrics.json"),
                              {"trainer": "trainers.tabular"}, now)
    app.registry.set_alias(MODEL, "previous", GOOD, now)
    app.registry.set_alias(MODEL, "production", FAULTY, now)


def run_demo(*, headless: bool, workdir: Path | None = None, timeout: float = 240.0,
             on_complete: Callable[[DemoRun], None] | None = None) -> int:
    """Run the demo; return 0 when the whole loop completed, 1 otherwise."""
    view: View = HeadlessView(sys.stdout) if headless or not sys.stdout.isatty() else LiveView()
    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="watchkeeper-demo-")) if owned else workdir
    assert root is not None
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    model = None
    traffic = None
    server = None
    try:
        versions = _prepare(root, view)
        model = ModelServerProcess(model=MODEL, versions=versions, production=FAULTY,
                                   capture=root / "capture.jsonl", cwd=root,
                                   log=root / "model-server.log")
        view.note(f"model server {model.url} serving {MODEL} {FAULTY} (production)")
        app = Watchkeeper.from_file(_configure(root, model.port))
        server = Server(app)
        app.db.upgrade()
        _register(app, versions)
        server.start()
        view.note(f"watchkeeper serving on {app.base_url} (SQLite in {root})")
        traffic = start_traffic(model.url, rps=25, duration=timeout, cwd=root,
                                log=root / "traffic.log")
        feed = EventFeed(server.loop, model=MODEL)
        ok = _watch(feed, model, view, started, timeout)
        if ok and on_complete is not None:
            on_complete(DemoRun(workdir=root, base_url=app.base_url, model_url=model.url,
                                server=server, progress=feed.progress,
                                events=tuple(view.events)))
        view.finish(ok, feed.progress, time.monotonic() - started)
        return 0 if ok else 1
    except (RuntimeError, OSError) as exc:
        view.note(f"demo failed: {exc}")
        return 1
    finally:
        if traffic is not None:
            stop_process(traffic)
        if server is not None:
            server.stop()
        if model is not None:
            model.stop()
        view.close()
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _watch(feed: EventFeed, model: ModelServerProcess, view: View, started: float,
           timeout: float) -> bool:
    injected = False
    while time.monotonic() - started < timeout:
        for event in feed.poll():
            view.event(event)
        view.update(feed.burn_rates(), feed.progress)
        if not injected and time.monotonic() - started > WARMUP_SECONDS and _has_data(feed):
            model.set_fault(FAULTY, ERROR_RATE)
            injected = True
            view.note(f"injected {ERROR_RATE:.0%} server errors into {MODEL} {FAULTY}")
        if feed.progress.complete:
            return True
        time.sleep(0.5)
    view.note("timed out waiting for: " + ", ".join(feed.progress.missing()))
    return False


def _has_data(feed: EventFeed) -> bool:
    return any(rate is not None for _, _, rate in feed.burn_rates())
