"""Time SLO evaluation ticks from the store, and real Prometheus evaluating the same SLOs' rules.

Usage::

    python -m benchmarks.slo.bench_slo [--slos 1000] [--quick] [--json FILE]
        [--database URL] [--reps 5] [--budget 60] [--coarse-step 21600]
        [--eval-interval 30] [--skip-prometheus]

Every SLO has its own pair of request counters, ``http_requests_total{slo="<i>",code="200"}``
and ``{code="500"}``: 31 days of samples at a coarse step, then the last hours at 15 s. The
store is seeded, rolled up with :meth:`RollupStore.compact` as the service does before each
tick, and :meth:`SLOEvaluator.evaluate` is timed for the same SLOs with a 5m window and one
tier, a 30d window and the same tier, and a 30d window with the four default tiers. The same
series are backfilled into real Prometheus with the rules ``write_rules`` generates for the
30d SLOs; the sum of its ``prometheus_rule_group_last_duration_seconds`` is what one
evaluation of all of them costs it. See ``benchmarks/slo/README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample, Severity
from monitor.core.time import FakeClock, from_epoch
from monitor.slo.evaluator import SLOEvaluator, SLOState
from monitor.slo.model import AlertingSpec, EventsSLI, ExhaustionAlert, SLOSpec, SourceKind
from monitor.slo.rules import write_rules
from monitor.slo.sli import StoreSLISource
from monitor.slo.windows import BurnRateWindow, default_windows
from monitor.store import Database
from monitor.store.rollups import RollupStore
from monitor.store.samples import SampleStore
from tests.integration.prometheus import (
    PrometheusServer,
    backfill,
    openmetrics_lines,
    prometheus_server,
)

METRIC = "http_requests_total"
DAY = 86400
TABLE_HEADER = (f"{'store tick':<30} {'windows/SLO':>11} {'ticks':>5} {'median s':>9} {'p95 s':>9} "
                f"{'rows/tick':>10} {'us/SLO-window':>13}  states")
_WRITE_BATCH = 50_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What to seed and how often to measure."""

    slos: int
    days: int
    coarse_step: int  # seconds between samples before the fine part
    fine_hours: int
    fine_step: int
    reps: int
    budget_s: float  # stop repeating a configuration's ticks once it has taken this long
    eval_interval: int  # Prometheus' evaluation_interval, seconds
    prom_samples: int  # how many evaluation rounds of Prometheus to read
    prom_settle: bool  # wait for the backfilled blocks' compaction before measuring
    end: int  # unix seconds of the last sample


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """One shape of SLO whose tick is timed."""

    key: str
    title: str
    window: timedelta
    tiers: tuple[BurnRateWindow, ...]
    lookback: timedelta  # the forecast's lookback (one more window read)


@dataclass(frozen=True, slots=True, kw_only=True)
class TickRow:
    """The measured ticks of one configuration."""

    key: str
    title: str
    windows_per_slo: int
    ticks: int
    median_s: float
    p95_s: float
    rows_per_tick: int
    us_per_slo_window: float
    states: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class PromResult:
    """Prometheus' cost of evaluating every generated rule group once."""

    version: str
    groups: int
    rules: int
    eval_interval_s: int
    median_s: float  # sum over groups of prometheus_rule_group_last_duration_seconds
    p95_s: float
    samples: int  # complete rounds measured
    cpu_per_round_s: float  # process CPU seconds per evaluation of every group
    missed: int  # iterations Prometheus skipped while measuring (it could not keep up)
    backfill_s: float
    settle_s: float  # waited for the compaction of the backfilled blocks


_TIER_5M = BurnRateWindow(severity=Severity.PAGE, long_window=timedelta(minutes=5),
                          short_window=timedelta(minutes=1), factor=14.4)
CONFIGS = (
    Config(key="5m", title="5m window, 1 tier (5m/1m)", window=timedelta(minutes=5),
           tiers=(_TIER_5M,), lookback=timedelta(minutes=5)),
    Config(key="30d-1tier", title="30d window, 1 tier (5m/1m)", window=timedelta(days=30),
           tiers=(_TIER_5M,), lookback=timedelta(minutes=5)),
    Config(key="30d", title="30d window, 4 default tiers", window=timedelta(days=30),
           tiers=default_windows(timedelta(days=30)), lookback=timedelta(hours=6)),
)


# -- the synthetic series ----------------------------------------------------------------
def _error_share(slo: int, age: int) -> float:
    """Share of failing requests *age* seconds before the end: some SLOs burn, most do not."""
    if slo % 10 == 0 and age < 3600:
        return 0.03  # 30x over the last hour: pages
    if slo % 10 == 1 and age < DAY:
        return 0.004  # 4x over the last day: a ticket
    return 0.0004


def points(slo: int, plan: Plan) -> Iterator[tuple[int, float, float]]:
    """Yield ``(unix_seconds, ok_total, bad_total)`` of SLO *slo*, oldest first."""
    fine_from = plan.end - plan.fine_hours * 3600
    times = [*range(plan.end - plan.days * DAY, fine_from, plan.coarse_step),
             *range(fine_from, plan.end + 1, plan.fine_step)]
    rate = 5.0 + slo % 10  # requests per second
    ok, bad, previous = 1_000_000.0 + 1000 * slo, 1000.0, times[0]
    for ts in times:
        requests = rate * (ts - previous)
        share = _error_share(slo, plan.end - ts)
        ok += requests * (1 - share)
        bad += requests * share
        previous = ts
        yield ts, round(ok, 3), round(bad, 3)


def _labels(slo: int, code: str) -> dict[str, str]:
    return {"slo": str(slo), "code": code}


def specs(config: Config, count: int) -> list[SLOSpec]:
    """Return *count* SLOs of *config*'s shape, one per synthetic counter pair."""
    out = []
    for i in range(count):
        alerting = AlertingSpec(windows=config.tiers, name="BenchBurn",
                                exhaustion=ExhaustionAlert(lookback=config.lookback))
        out.append(SLOSpec(
            name=f"bench-{i:04d}", service="bench", objective=99.9, window=config.window,
            sli=EventsSLI(total=parse_selector(f'{METRIC}{{slo="{i}"}}'),
                          bad=parse_selector(f'{METRIC}{{slo="{i}",code="500"}}')),
            alerting=alerting))
    return out


def windows_read(spec: SLOSpec) -> int:
    """Return how many distinct windows the evaluator counts events over for *spec*."""
    alerting = spec.alerting
    found = {spec.window, min(alerting.exhaustion.lookback, spec.window), alerting.no_data.after}
    for tier in alerting.windows:
        found.update((tier.long_window, tier.short_window))
    return len(found)


# -- the store ---------------------------------------------------------------------------
def seed(db: Database, plan: Plan) -> int:
    """Write every SLO's counters through :class:`SampleStore`; return the sample count."""
    samples, batch, written = SampleStore(db), [], 0
    for i in range(plan.slos):
        ok_labels, bad_labels = Labels(_labels(i, "200")), Labels(_labels(i, "500"))
        for ts, ok, bad in points(i, plan):
            at = from_epoch(ts)
            batch.append(Sample(metric=METRIC, labels=ok_labels, value=ok, timestamp=at))
            batch.append(Sample(metric=METRIC, labels=bad_labels, value=bad, timestamp=at))
        if len(batch) >= _WRITE_BATCH:
            written += samples.write(batch)
            batch = []
    return written + samples.write(batch)


def time_ticks(db: Database, config: Config, plan: Plan) -> TickRow:
    """Time up to *plan.reps* ticks of *config*'s SLOs, after a warm-up tick of a few.

    Repetitions stop early once the configuration has taken *plan.budget_s*; one timed
    tick always runs.
    """
    slos = specs(config, plan.slos)
    source = StoreSLISource(SampleStore(db), RollupStore(db))
    at = from_epoch(plan.end)
    SLOEvaluator(specs=slos[:10], sources={SourceKind.STORE: source},
                 clock=FakeClock(at)).evaluate(at)  # statement caches, connection pool
    evaluator = SLOEvaluator(specs=slos, sources={SourceKind.STORE: source},
                             clock=FakeClock(at))
    durations: list[float] = []
    rows: list[int] = []
    while len(durations) < plan.reps and sum(durations) < plan.budget_s:
        before = source.rows_read
        started = time.perf_counter()
        evaluation = evaluator.evaluate(at)
        durations.append(time.perf_counter() - started)
        rows.append(source.rows_read - before)
    failed = [s.error for s in evaluation.statuses if s.state is SLOState.ERROR]
    if failed:
        raise SystemExit(f"{len(failed)} SLOs could not be evaluated, e.g. {failed[0]}")
    per_slo = windows_read(slos[0])
    median = statistics.median(durations)
    return TickRow(key=config.key, title=config.title, windows_per_slo=per_slo,
                   ticks=len(durations), median_s=median, p95_s=p95(durations),
                   rows_per_tick=max(rows), us_per_slo_window=median / (plan.slos * per_slo) * 1e6,
                   states=dict(sorted(Counter(s.state.value
                                              for s in evaluation.statuses).items())))


def p95(values: Sequence[float]) -> float:
    """Return the 95th percentile of *values* (the value itself for one)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def open_database(url: str | None, work: Path) -> tuple[Database, str | None]:
    """Return a fresh, migrated database (SQLite under *work* unless *url*) and its schema."""
    if url is None:
        db = Database(f"sqlite:///{work / 'bench.db'}")
        db.upgrade()
        return db, None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = Database(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    db = Database(url, schema=schema)
    db.upgrade()
    return db, schema


def drop_schema(db: Database, schema: str) -> None:
    """Remove a PostgreSQL schema made by :func:`open_database`."""
    db.dispose()
    admin = Database(db.url)
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# -- Prometheus --------------------------------------------------------------------------
def run_prometheus(slos: Sequence[SLOSpec], plan: Plan, work: Path) -> PromResult | str:
    """Backfill the series, load the generated rules, and read what evaluating them costs.

    Returns why it was skipped instead when Prometheus or promtool is missing or fails.
    """
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (apt-get install prometheus); skipped"
    rules = [p for p in write_rules(slos, work / "rules") if p.name.endswith(".rules.yml")]
    lines: list[str] = []
    for i in range(plan.slos):
        series = list(points(i, plan))
        lines.extend(openmetrics_lines(METRIC, _labels(i, "200"),
                                       [(ts, ok) for ts, ok, _ in series]))
        lines.extend(openmetrics_lines(METRIC, _labels(i, "500"),
                                       [(ts, bad) for ts, _, bad in series]))
    started = time.perf_counter()
    try:
        backfill(work / "data", {METRIC: lines}, work)
        backfill_s = time.perf_counter() - started
        del lines
        with prometheus_server(work, rules, evaluation_interval=f"{plan.eval_interval}s",
                               data_dir=work / "data") as server:
            return _measure_rules(server, plan, backfill_s)
    except (pytest.fail.Exception, pytest.skip.Exception) as exc:
        return f"Prometheus failed: {exc}"


def _own_metrics(server: PrometheusServer) -> dict[str, dict[str, float]]:
    """Return Prometheus' own rule-group and CPU metrics: name → labels → value."""
    found: dict[str, dict[str, float]] = {name: {} for name in _OWN_METRICS}
    for line in server.client.get(f"{server.url}/metrics").text.splitlines():
        name, brace, rest = line.partition("{")
        if not brace:
            name, _, rest = line.partition(" ")
            rest = "} " + rest
        if name in found:
            labels, _, value = rest.rpartition("} ")
            found[name][labels] = float(value)
    return found


_OWN_METRICS = ("prometheus_rule_group_last_duration_seconds",
                "prometheus_rule_group_last_evaluation_timestamp_seconds",
                "prometheus_rule_group_rules", "prometheus_rule_group_iterations_total",
                "prometheus_rule_group_iterations_missed_total", "process_cpu_seconds_total",
                "prometheus_tsdb_compactions_triggered_total", "prometheus_tsdb_blocks_loaded",
                "prometheus_tsdb_compactions_total", "prometheus_engine_queries",
                "prometheus_engine_queries_concurrent_max")
_SETTLE_LIMIT = 300.0  # seconds to wait for the backfilled blocks' compaction, at most


def _total(metrics: dict[str, dict[str, float]], name: str) -> float:
    return sum(metrics[name].values())


def _settle(server: PrometheusServer) -> float:
    """Wait until the backfilled blocks are compacted and no rule query waits for a slot.

    Prometheus compacts the backfill's many small blocks a minute after it starts; until
    then, and until the queries queued meanwhile have run, rule groups mostly wait. Returns
    the seconds waited (at most ``_SETTLE_LIMIT``).
    """
    started, previous = time.monotonic(), None
    while time.monotonic() - started < _SETTLE_LIMIT:
        metrics = _own_metrics(server)
        blocks = (_total(metrics, "prometheus_tsdb_blocks_loaded"),
                  _total(metrics, "prometheus_tsdb_compactions_total"))
        if (_total(metrics, "prometheus_tsdb_compactions_triggered_total") >= 1
                and blocks == previous
                and _total(metrics, "prometheus_engine_queries")
                <= _total(metrics, "prometheus_engine_queries_concurrent_max")):
            break
        previous = blocks
        time.sleep(10)
    return time.monotonic() - started


def _measure_rules(server: PrometheusServer, plan: Plan, backfill_s: float) -> PromResult | str:
    """Sum rule-group durations over a few rounds, after a warm-up round.

    A round is complete when every group has been evaluated again since the last one; the
    first is a warm-up. Process CPU per round is measured over the same rounds, from the
    group evaluations that ran (iterations less missed ones).
    """
    settle_s = _settle(server) if plan.prom_settle else 0.0
    deadline = time.monotonic() + 180 + plan.eval_interval * (plan.prom_samples + 3)
    sums: list[float] = []
    seen: dict[str, float] = {}
    first = metrics = _own_metrics(server)
    while len(sums) < plan.prom_samples and time.monotonic() < deadline:
        time.sleep(min(1.0, plan.eval_interval / 4))
        metrics = _own_metrics(server)
        stamps = metrics["prometheus_rule_group_last_evaluation_timestamp_seconds"]
        if not stamps or any(v <= 0 or v <= seen.get(g, 0.0) for g, v in stamps.items()):
            continue  # some group has not been evaluated since the last round
        if seen:
            sums.append(_total(metrics, "prometheus_rule_group_last_duration_seconds"))
        else:
            first = metrics
        seen = dict(stamps)
    if not sums:
        return (f"Prometheus did not evaluate every rule group twice within "
                f"{180 + plan.eval_interval * (plan.prom_samples + 3)}s; raise "
                "--eval-interval or lower --slos")
    ran = {name: _total(metrics, name) - _total(first, name) for name in _OWN_METRICS}
    executed = (ran["prometheus_rule_group_iterations_total"]
                - ran["prometheus_rule_group_iterations_missed_total"])
    build = server.client.get(f"{server.url}/api/v1/status/buildinfo").json()["data"]
    return PromResult(version=build["version"], groups=len(seen),
                      rules=int(_total(metrics, "prometheus_rule_group_rules")),
                      eval_interval_s=plan.eval_interval, median_s=statistics.median(sums),
                      p95_s=p95(sums), samples=len(sums),
                      cpu_per_round_s=ran["process_cpu_seconds_total"] * len(seen)
                      / max(executed, 1.0),
                      missed=int(ran["prometheus_rule_group_iterations_missed_total"]),
                      backfill_s=backfill_s, settle_s=settle_s)


# -- the report --------------------------------------------------------------------------
def render(plan: Plan, setup: dict[str, Any], rows: Sequence[TickRow],
           prom: PromResult | str | None) -> str:
    """Return the plain-text table of a run."""
    by_key = {r.key: r for r in rows}
    out = [f"SLO evaluation benchmark: {plan.slos} SLOs, {2 * plan.slos} series, "
           f"{setup['database']}",
           f"history: {plan.days}d at {plan.coarse_step}s + last {plan.fine_hours}h at "
           f"{plan.fine_step}s; {setup['samples']:,} samples seeded in {setup['seed_s']:.1f}s; "
           f"{setup['rollups']:,} rollup buckets compacted in {setup['compact_s']:.1f}s",
           "", TABLE_HEADER]
    for r in rows:
        states = " ".join(f"{k}={v}" for k, v in r.states.items())
        out.append(f"{r.title:<30} {r.windows_per_slo:>11} {r.ticks:>5} {r.median_s:>9.3f} "
                   f"{r.p95_s:>9.3f} "
                   f"{r.rows_per_tick:>10,} {r.us_per_slo_window:>13.1f}  {states}")
    long, short = by_key["30d"], by_key["5m"]
    same = by_key["30d-1tier"]
    out += ["", f"30d / 5m window, same tier: {same.median_s / short.median_s:.2f}x",
            f"30d with 4 default tiers / 5m with 1 tier: {long.median_s / short.median_s:.2f}x",
            ""]
    if prom is None:
        out.append("prometheus: skipped (--skip-prometheus)")
    elif isinstance(prom, str):
        out.append(f"prometheus: {prom}")
    else:
        out += [f"prometheus {prom.version}: {prom.groups} rule groups, {prom.rules} rules, "
                f"evaluation_interval {prom.eval_interval_s}s, backfill {prom.backfill_s:.1f}s, "
                f"compaction settled in {prom.settle_s:.0f}s",
                f"prometheus rule evaluation (sum of last_duration over groups): median "
                f"{prom.median_s:.3f}s p95 {prom.p95_s:.3f}s over {prom.samples} rounds",
                f"prometheus process CPU per round: {prom.cpu_per_round_s:.3f}s; "
                f"iterations missed while measuring: {prom.missed}",
                f"watchkeeper 30d tick / prometheus rule evaluation: "
                f"{long.median_s / prom.median_s:.2f}x",
                f"watchkeeper 30d tick / prometheus CPU per round: "
                f"{long.median_s / prom.cpu_per_round_s:.2f}x"]
    return "\n".join(out)


def make_plan(args: argparse.Namespace) -> Plan:
    """Return the plan for the command line (``--quick``: small and fast)."""
    end = int(time.time()) // 15 * 15
    if args.quick:
        return Plan(slos=args.slos or 20, days=3, coarse_step=3600, fine_hours=1, fine_step=15,
                    reps=1, budget_s=args.budget, eval_interval=args.eval_interval or 1,
                    prom_samples=2, prom_settle=False, end=end)
    return Plan(slos=args.slos or 1000, days=31, coarse_step=args.coarse_step, fine_hours=3,
                fine_step=15, reps=args.reps, budget_s=args.budget,
                eval_interval=args.eval_interval or 30, prom_samples=3, prom_settle=True,
                end=end)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slo.bench_slo",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--slos", type=int, help="SLOs (default 1000, quick 20)")
    parser.add_argument("--quick", action="store_true",
                        help="20 SLOs, 3 days, one tick each: well under a minute")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--database", help="PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--reps", type=int, default=5, help="timed ticks per configuration")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds after which a configuration's ticks stop repeating")
    parser.add_argument("--coarse-step", type=int, default=21600,
                        help="seconds between samples before the last 3 hours (default 6h)")
    parser.add_argument("--eval-interval", type=int, default=0,
                        help="Prometheus evaluation_interval in seconds (default 30, quick 1)")
    parser.add_argument("--skip-prometheus", action="store_true")
    args = parser.parse_args(argv)
    for name, value, least in (("--slos", args.slos, 1), ("--reps", args.reps, 1),
                               ("--coarse-step", args.coarse_step, 15),
                               ("--eval-interval", args.eval_interval, 0)):
        if value is not None and value < least:
            parser.error(f"{name} must be >= {least}, got {value}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    with tempfile.TemporaryDirectory(prefix="bench-slo-") as tmp:
        work = Path(tmp)
        prom: PromResult | str | None = None
        if not args.skip_prometheus:  # first, while the series' last minutes are recent
            prom = run_prometheus(specs(CONFIGS[-1], plan.slos), plan, work / "prometheus")
        db, schema = open_database(args.database, work)
        try:
            started = time.perf_counter()
            samples = seed(db, plan)
            seeded = time.perf_counter()
            rollups = RollupStore(db).compact(from_epoch(plan.end))
            setup = {"database": "postgresql" if schema else "sqlite", "samples": samples,
                     "seed_s": seeded - started, "rollups": rollups,
                     "compact_s": time.perf_counter() - seeded}
            rows = [time_ticks(db, config, plan) for config in CONFIGS]
        finally:
            if schema:
                drop_schema(db, schema)
            else:
                db.dispose()
    print(render(plan, setup, rows, prom))
    if args.json:
        args.json.write_text(json.dumps({
            "plan": asdict(plan), "setup": setup, "ticks": [asdict(r) for r in rows],
            "prometheus": asdict(prom) if isinstance(prom, PromResult) else prom,
        }, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
