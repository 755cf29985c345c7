"""Time alerts from a threshold breach to the receiver, and 10,000 alerts through routing.

Usage::

    python -m benchmarks.alerting.bench_alerting [--quick] [--alerts 10000] [--repeats 20]
        [--json FILE] [--database-url URL] [--profile DIR]

Watchkeeper and real Alertmanager get the same route tree, the same alerts and the same
receiver: one loopback stand-in that both post Alertmanager's webhook JSON to, timed on
arrival. Latency: Watchkeeper from the write of a sample that breaches an ``AlertRule``
through the service's evaluate and deliver steps; Alertmanager from the POST of the
alert (no rule evaluation on its side). Throughput: every alert firing at once, until
each has arrived in some group's first notification; the ratio is Watchkeeper's figure
over Alertmanager's. See ``benchmarks/alerting/README.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from benchmarks.alerting.alertmanager import (
    PROMETHEUS_BATCH,
    AlertmanagerError,
    find_alertmanager,
    running_alertmanager,
)
from benchmarks.alerting.service import LATENCY_RULE, STEP_INTERVAL, open_service
from benchmarks.alerting.standin import AlertKey, StandIn, StandInTimeoutError
from benchmarks.alerting.workload import (
    GROUPINGS,
    alert_labels,
    alertmanager_config,
    routed_groups,
    routing,
)
from monitor.core.model import Labels, Sample, Signal
from monitor.service.loop import Loop
from monitor.service.scheduler import Schedule

__all__ = ["SCENARIOS", "Latency", "Plan", "Scenario", "Throughput", "main", "p95", "render"]

WK, AM = "watchkeeper", "alertmanager"
TABLE_HEADER = f"{'tool':<13} {'metric':<52} {'value':>16} {'ratio':>7}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One throughput run: how the tree groups, and the group_wait both sides use."""

    key: str
    title: str
    grouping: str  # a key of workload.GROUPINGS
    group_wait: timedelta


SCENARIOS = (
    Scenario(key="one-per-group", title="throughput, one alert per group, group_wait 0s",
             grouping="alertname,model", group_wait=timedelta(0)),
    # With group_wait 0s a group is notified on its first alert, so Alertmanager's groups
    # would go out holding part of their alerts and the rest would wait group_interval.
    Scenario(key="by-model", title="throughput, grouped by model, group_wait 1s",
             grouping="model", group_wait=timedelta(seconds=1)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What to run."""

    alerts: int
    repeats: int
    batch: int
    database: str
    profile: str  # folder for the pstats files, "" when not profiling


@dataclass(frozen=True, slots=True, kw_only=True)
class Latency:
    """Breach (or push) to arrival at the stand-in, over the repeats."""

    tool: str
    mode: str  # "push", "back-to-back" or "every-100ms"
    samples_ms: tuple[float, ...]
    median_ms: float
    p95_ms: float
    pass_ms: float = 0.0  # back to back: the median evaluate + deliver pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Throughput:
    """All alerts firing at once until every one arrived in a first notification."""

    tool: str
    scenario: str
    alerts: int
    groups: int
    received: int  # distinct alerts that arrived
    bodies: int  # webhook requests the stand-in took
    inject_s: float  # Watchkeeper: Loop.ingest; Alertmanager: every POST answered
    seconds: float  # first injection to the last alert's arrival
    alerts_per_s: float


def p95(values: Sequence[float]) -> float:
    """Return the 95th percentile of *values* (the value itself for one)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _latency(tool: str, mode: str, samples: list[float], passes: list[float]) -> Latency:
    return Latency(tool=tool, mode=mode, samples_ms=tuple(round(s, 3) for s in samples),
                   median_ms=statistics.median(samples), p95_ms=p95(samples),
                   pass_ms=statistics.median(passes) * 1000 if passes else 0.0)


def _check_steps(loop: Loop) -> None:
    if loop.report.step_errors:
        raise SystemExit(f"watchkeeper: steps failed {loop.report.step_errors}; see the log")


# -- latency -----------------------------------------------------------------------------
@contextmanager
def _running_steps(loop: Loop, scheduled: bool) -> Iterator[list[float]]:
    """Run the evaluate and deliver steps: by the service's schedule, or back to back.

    Back to back, the list yielded gets the seconds each evaluate + deliver pass took.
    """
    passes: list[float] = []
    if scheduled:
        schedule = Schedule(loop)
        schedule.start()
        try:
            yield passes
        finally:
            schedule.stop()
        return
    stop = threading.Event()

    def steps() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            loop.evaluate()
            loop.deliver()
            passes.append(time.perf_counter() - started)

    worker = threading.Thread(target=steps, name="bench-steps", daemon=True)
    worker.start()
    try:
        yield passes
    finally:
        stop.set()
        worker.join(timeout=60)


def watchkeeper_latency(plan: Plan, standin: StandIn, work: Path, *,
                        scheduled: bool) -> Latency:
    """Time sample write -> webhook arrival, *plan.repeats* times after one warm-up."""
    mode = "every-100ms" if scheduled else "back-to-back"
    standin.reset(WK)
    samples: list[float] = []
    phase = random.Random(20260301)  # breaches fall anywhere between two scheduled steps
    with open_service(tree=routing(GROUPINGS["alertname,model"]), receiver_url=standin.url(WK),
                      work=work, database_url=plan.database or None) as loop, \
            _running_steps(loop, scheduled) as passes:
        for i in range(plan.repeats + 1):
            model = f"latency-{mode}-{i:03d}"
            time.sleep(phase.uniform(0.0, STEP_INTERVAL.total_seconds()))
            started = time.monotonic()
            loop.app.samples.write([Sample(metric="model_latency_seconds",
                                           labels=Labels({"model": model}), value=0.9,
                                           timestamp=loop.app.clock.now())])
            arrived = standin.wait_for(WK, [(LATENCY_RULE, model)], timeout=30)
            if i:  # the first is a warm-up
                samples.append((arrived - started) * 1000)
        _check_steps(loop)
    return _latency(WK, mode, samples, passes)


def _am_alert(labels: dict[str, str]) -> dict[str, object]:
    """Return an alert for POST /api/v2/alerts.

    Without ``startsAt`` Alertmanager stamps the alert on arrival; an alert that started
    more than ``group_wait`` ago would make its new group flush at once, half filled.
    """
    return {"labels": labels, "annotations": {}, "generatorURL": ""}


def alertmanager_latency(plan: Plan, standin: StandIn, work: Path) -> tuple[Latency, str]:
    """Time POST /api/v2/alerts -> webhook arrival; return it and Alertmanager's version."""
    standin.reset(AM)
    samples: list[float] = []
    phase = random.Random(20260301)
    config = alertmanager_config(GROUPINGS["alertname,model"], standin.url(AM))
    with running_alertmanager(work, config) as server:
        for i in range(plan.repeats + 1):
            model = f"latency-push-{i:03d}"
            time.sleep(phase.uniform(0.0, STEP_INTERVAL.total_seconds()))
            alert = _am_alert({"alertname": LATENCY_RULE, "model": model, "severity": "page",
                               "team": "ml"})
            started = time.monotonic()
            server.push([alert])
            arrived = standin.wait_for(AM, [(LATENCY_RULE, model)], timeout=30)
            if i:
                samples.append((arrived - started) * 1000)
        version = server.version
    return _latency(AM, "push", samples, []), version


# -- throughput --------------------------------------------------------------------------
def _keys(count: int) -> list[AlertKey]:
    return [(labels["alertname"], labels["model"])
            for labels in (alert_labels(k) for k in range(count))]


def _timeout(plan: Plan) -> float:
    return max(120.0, plan.alerts * 0.1)


def watchkeeper_throughput(plan: Plan, standin: StandIn, work: Path,
                           scenario: Scenario) -> Throughput:
    """Ingest every alert as one evaluation's signals, then deliver until all arrived."""
    tree = routing(GROUPINGS[scenario.grouping], scenario.group_wait)
    signals = []
    for k in range(plan.alerts):
        labels = alert_labels(k)
        signals.append(Signal(name=labels.pop("alertname"), labels=Labels(labels), value=1.0,
                              active=True, source="bench/throughput"))
    keys = _keys(plan.alerts)
    profiler = cProfile.Profile() if plan.profile else None
    with open_service(tree=tree, receiver_url=standin.url(WK), work=work,
                      database_url=plan.database or None) as loop:
        _warm_up(loop, standin)
        standin.reset(WK)
        started = time.monotonic()
        deadline = started + _timeout(plan)
        with profiler or nullcontext():
            loop.ingest(signals)
            ingested = time.monotonic()
            while standin.arrived(WK) < plan.alerts and time.monotonic() < deadline:
                if loop.deliver() == 0:
                    time.sleep(0.005)  # groups still in group_wait, or the last in flight
            done = standin.wait_for(WK, keys, timeout=max(deadline - time.monotonic(), 1.0))
        _check_steps(loop)
    if profiler is not None:
        profiler.dump_stats(Path(plan.profile) / f"watchkeeper-{scenario.key}.pstats")
    record = standin.record(WK)
    return Throughput(tool=WK, scenario=scenario.key, alerts=plan.alerts,
                      groups=routed_groups(tree, plan.alerts), received=len(record.first),
                      bodies=record.bodies, inject_s=ingested - started,
                      seconds=done - started, alerts_per_s=plan.alerts / (done - started))


def _warm_up(loop: Loop, standin: StandIn) -> None:
    """Send one alert through, so connections and statement caches are made before timing."""
    standin.reset(WK)
    loop.ingest([Signal(name="BenchWarmUp", labels=Labels({"model": "warm-up"}), active=True,
                        source="bench/warm-up")])
    deadline = time.monotonic() + 30
    while standin.arrived(WK) < 1 and time.monotonic() < deadline:
        if loop.deliver() == 0:
            time.sleep(0.005)
    standin.wait_for(WK, [("BenchWarmUp", "warm-up")], timeout=30)


def alertmanager_throughput(plan: Plan, standin: StandIn, work: Path,
                            scenario: Scenario) -> Throughput:
    """POST every alert in batches of *plan.batch*, one after another, until all arrived."""
    group_by = GROUPINGS[scenario.grouping]
    alerts = [_am_alert(alert_labels(k)) for k in range(plan.alerts)]
    keys = _keys(plan.alerts)
    config = alertmanager_config(group_by, standin.url(AM), scenario.group_wait)
    with running_alertmanager(work, config) as server:
        standin.reset(AM)
        server.push([_am_alert({"alertname": "BenchWarmUp", "model": "warm-up"})])
        standin.wait_for(AM, [("BenchWarmUp", "warm-up")], timeout=30)
        standin.reset(AM)
        started = time.monotonic()
        for i in range(0, len(alerts), plan.batch):
            server.push(alerts[i:i + plan.batch])
        pushed = time.monotonic()
        done = standin.wait_for(AM, keys, timeout=_timeout(plan))
    record = standin.record(AM)
    return Throughput(tool=AM, scenario=scenario.key, alerts=plan.alerts,
                      groups=routed_groups(routing(group_by), plan.alerts),
                      received=len(record.first), bodies=record.bodies,
                      inject_s=pushed - started, seconds=done - started,
                      alerts_per_s=plan.alerts / (done - started))


# -- the report --------------------------------------------------------------------------
def _row(tool: str, metric: str, value: str, ratio: str = "-") -> str:
    return f"{tool:<13} {metric:<52} {value:>16} {ratio:>7}"


def render(plan: Plan, version: str, latencies: Sequence[Latency],
           throughputs: Sequence[Throughput]) -> str:
    """Return the plain-text report of a run."""
    database = "postgresql" if plan.database else "sqlite"
    out = [f"Alerting benchmark: {plan.alerts:,} alerts, {plan.repeats} latency repeats, "
           f"{database}, alertmanager {version}, {os.cpu_count()} CPUs"
           + (" (profiled: watchkeeper throughput is slowed)" if plan.profile else ""),
           "one loopback stand-in receives both; group_interval 1h; "
           "ratio = watchkeeper / alertmanager", "", TABLE_HEADER]
    push = next(x for x in latencies if x.tool == AM)
    titles = {"push": "push -> webhook, no rule evaluation",
              "back-to-back": "breach -> webhook, steps back to back",
              "every-100ms": "breach -> webhook, steps every 100ms"}
    for x in (push, *(x for x in latencies if x.tool == WK)):
        for stat, value, peer in (("median", x.median_ms, push.median_ms),
                                  ("p95", x.p95_ms, push.p95_ms)):
            ratio = f"{value / peer:.2f}x" if x.tool == WK else "-"
            out.append(_row(x.tool, f"latency {stat}, {titles[x.mode]}", f"{value:.1f} ms",
                            ratio))
    by_key = {(t.tool, t.scenario): t for t in throughputs}
    notes = []
    for scenario in SCENARIOS:
        am, wk = by_key[(AM, scenario.key)], by_key[(WK, scenario.key)]
        out.append(_row(AM, scenario.title, f"{am.alerts_per_s:,.0f} alerts/s"))
        out.append(_row(WK, scenario.title, f"{wk.alerts_per_s:,.0f} alerts/s",
                        f"{wk.alerts_per_s / am.alerts_per_s:.2f}x"))
        notes.append(f"{scenario.key}: {wk.groups:,} groups; watchkeeper {wk.received:,}/"
                     f"{wk.alerts:,} alerts in {wk.bodies:,} bodies, {wk.seconds:.2f}s "
                     f"(ingest {wk.inject_s:.2f}s); alertmanager {am.received:,}/{am.alerts:,} "
                     f"in {am.bodies:,} bodies, {am.seconds:.2f}s (POSTs {am.inject_s:.2f}s)")
    back_to_back = next(x for x in latencies if x.mode == "back-to-back")
    out += ["", *notes,
            "watchkeeper latency includes evaluating the AlertRule over the store; "
            "alertmanager's has no rule evaluation (Prometheus adds its own "
            "evaluation_interval)",
            f"watchkeeper steps back to back: one evaluate + deliver pass took "
            f"{back_to_back.pass_ms:.1f} ms (median)",
            f"watchkeeper throughput: Loop.ingest of every alert at once, then Loop.deliver "
            f"back to back; alertmanager: POST /api/v2/alerts, {plan.batch} alerts a request, "
            "one request after another"]
    return "\n".join(out)


def _profile_summary(folder: Path) -> str:
    out = []
    for path in sorted(folder.glob("*.pstats")):
        text = io.StringIO()
        stats = pstats.Stats(str(path), stream=text)
        stats.strip_dirs().sort_stats("tottime").print_stats(20)
        out += [f"== {path.name} (by own time)", text.getvalue().strip()]
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alerting.bench_alerting",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="200 alerts and 3 latency repeats: seconds, for the test suite")
    parser.add_argument("--alerts", type=int, help="alerts for throughput (default 10000, "
                        "quick 200)")
    parser.add_argument("--repeats", type=int, help="latency repeats (default 20, quick 3)")
    parser.add_argument("--batch", type=int, default=PROMETHEUS_BATCH,
                        help="alerts per POST to Alertmanager (default 64, as Prometheus)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL URL (default: SQLite in a temp dir); each phase "
                             "gets a schema of its own, dropped after")
    parser.add_argument("--profile", type=Path,
                        help="cProfile Watchkeeper's throughput runs into this folder and "
                             "print where the time went")
    args = parser.parse_args(argv)
    for name, value in (("--alerts", args.alerts), ("--repeats", args.repeats),
                        ("--batch", args.batch)):
        if value is not None and value < 1:
            parser.error(f"{name} must be >= 1, got {value}")
    if args.database_url and not args.database_url.startswith(("postgresql", "postgres:")):
        parser.error(f"--database-url must be a postgresql:// URL, got {args.database_url!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(alerts=args.alerts or (200 if args.quick else 10_000),
                repeats=args.repeats or (3 if args.quick else 20), batch=args.batch,
                database=args.database_url, profile=str(args.profile or ""))
    try:
        find_alertmanager()
    except AlertmanagerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-alerting-") as tmp, StandIn() as standin:
            work = Path(tmp)
            am_latency, version = alertmanager_latency(plan, standin, work / "am-latency")
            latencies = [am_latency,
                         watchkeeper_latency(plan, standin, work / "wk", scheduled=False),
                         watchkeeper_latency(plan, standin, work / "wk", scheduled=True)]
            throughputs = []
            for scenario in SCENARIOS:
                throughputs.append(watchkeeper_throughput(plan, standin, work / "wk", scenario))
                throughputs.append(alertmanager_throughput(plan, standin,
                                                           work / f"am-{scenario.key}", scenario))
    except (AlertmanagerError, StandInTimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render(plan, version, latencies, throughputs))
    if args.profile:
        print("\n" + _profile_summary(args.profile))
    if args.json:
        args.json.write_text(json.dumps({
            "plan": asdict(plan), "alertmanager_version": version,
            "latency": [asdict(x) for x in latencies],
            "throughput": [asdict(t) for t in throughputs],
        }, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
