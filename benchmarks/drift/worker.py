"""Run one tool of the drift benchmark in its own process and write what it measured as JSON.

A tool is three functions: ``load(job)`` reads the two parquet files into the form the tool
takes (and imports the tool), ``prepare(data, job)`` does the reference-side work a tool can
do once ahead of time (a profile, a fitted calculator), and ``check(state, data, job)``
compares the current window and says which columns drifted. ``run`` times ``prepare`` and
``check`` and measures the memory ``check`` needs:

* after ``prepare``, a garbage collection and a release of pyarrow's pooled free memory
  (its allocator keeps freed parquet-decoding buffers), the resident set (``VmRSS``) is
  read and the kernel's peak counter is reset to it (``echo 5 > /proc/self/clear_refs``,
  Linux 4.0+);
* after the checks, the peak (``VmHWM``) is read again: *peak RSS* is that peak, the
  *increment* is the peak less the resident set before the check. Where the reset is not
  allowed, the peak is ``getrusage``'s ``ru_maxrss``, which then also covers loading.
  The peak of importing, loading and preparing (``ru_maxrss`` before the reset) is kept as
  ``load_prepare_peak_rss``.

Loading the data is never timed. A check that takes under two seconds is repeated (up to
five runs or five seconds) and the median is reported with the first run; the process's CPU
time per check (all threads) is reported beside the wall time. Only the standard
library is used here, so the peers' virtualenv can run it.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import platform
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Job", "Outcome", "Tool", "main", "memory_now", "run"]

_REPEAT_BELOW_S = 2.0
_REPEAT_BUDGET_S = 5.0
_MAX_RUNS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """What the orchestrator asks one worker to do."""

    tool: str
    mode: str
    reference: str
    current: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    alpha: float = 0.05

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """Build a job from its JSON form."""
        return cls(tool=str(data["tool"]), mode=str(data["mode"]),
                   reference=str(data["reference"]), current=str(data["current"]),
                   numeric=tuple(data["numeric"]), categorical=tuple(data["categorical"]),
                   alpha=float(data.get("alpha", 0.05)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one check found: the drifted columns, and per column its test and p-value."""

    flagged: tuple[str, ...]
    tests: Mapping[str, str] = field(default_factory=dict)
    p_values: Mapping[str, float | None] = field(default_factory=dict)
    scores: Mapping[str, float | None] = field(default_factory=dict)  # the tool's own score
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """One benchmarked tool: how it loads the data, prepares, and checks."""

    name: str
    packages: tuple[str, ...]  # distributions whose versions are reported
    load: Callable[[Job], Any]
    prepare: Callable[[Any, Job], Any]
    check: Callable[[Any, Any, Job], Outcome]
    extra: Callable[[Any], Mapping[str, Any]] = lambda state: {}


def _status_kib(key: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def memory_now() -> int | None:
    """Return this process's resident set in bytes (``VmRSS``), or None off Linux."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _release_free_memory() -> None:
    """Collect garbage and hand pyarrow's pooled free memory back to the system.

    pyarrow's allocator (mimalloc or jemalloc) keeps freed buffers, such as those of
    parquet decoding, so without this the resident set before the check would count
    memory no tool holds any more.
    """
    gc.collect()
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()


def _max_rss() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


def _versions(packages: tuple[str, ...]) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _timed_checks(tool: Tool, state: Any, data: Any,
                  job: Job) -> tuple[list[float], list[float], Outcome]:
    """Run the check once, or more while it is quick; return wall and CPU seconds per run."""
    runs: list[float] = []
    cpu: list[float] = []
    while True:
        start, start_cpu = time.perf_counter(), time.process_time()
        outcome = tool.check(state, data, job)
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if runs[0] >= _REPEAT_BELOW_S or sum(runs) >= _REPEAT_BUDGET_S or len(runs) >= _MAX_RUNS:
            return runs, cpu, outcome


def run(tool: Tool, job: Job) -> dict[str, Any]:
    """Load, prepare and check with *tool*; return the figures as a JSON-ready dict."""
    result: dict[str, Any] = {"tool": tool.name, "mode": job.mode, "status": "ok",
                              "versions": _versions(tool.packages)}
    try:
        data = tool.load(job)
    except ImportError as exc:
        result.update(status="not installed", error=f"{type(exc).__name__}: {exc}")
        return result
    start = time.perf_counter()
    state = tool.prepare(data, job)
    result["prepare_s"] = time.perf_counter() - start
    loading_peak = _max_rss()  # imports, loading and prepare; the reset below clears it
    _release_free_memory()
    before = memory_now()
    reset = _reset_peak()
    runs, cpu, outcome = _timed_checks(tool, state, data, job)
    peak = _status_kib("VmHWM")
    peak_bytes = peak * 1024 if reset and peak is not None else _max_rss()
    result.update(
        check_s=statistics.median(runs), check_runs=runs, check_cpu_s=statistics.median(cpu),
        check_cpu_runs=cpu, rss_before=before,
        peak_rss=peak_bytes, increment=None if before is None else max(peak_bytes - before, 0),
        peak_method="VmHWM after clear_refs" if reset else "ru_maxrss (whole process)",
        load_prepare_peak_rss=loading_peak, outcome=asdict(outcome), **tool.extra(state))
    return result


def main(tool: Tool, argv: list[str] | None = None) -> int:
    """Run *tool* on the job file named on the command line; write the result file."""
    parser = argparse.ArgumentParser(description=f"drift benchmark worker: {tool.name}")
    parser.add_argument("job", type=Path, help="job JSON written by bench_drift")
    parser.add_argument("out", type=Path, help="where to write the result JSON")
    args = parser.parse_args(argv)
    job = Job.from_dict(json.loads(args.job.read_text(encoding="utf-8")))
    try:
        result = run(tool, job)
    except Exception as exc:  # reported in the table; the other tools still run
        result = {"tool": tool.name, "mode": job.mode, "status": "failed",
                  "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc(limit=8)}
    args.out.write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
    return 0 if result["status"] in ("ok", "not installed") else 1
