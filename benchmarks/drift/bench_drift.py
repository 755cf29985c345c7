"""Time Watchkeeper's drift check against a SciPy loop, Evidently, NannyML and alibi-detect.

Usage::

    python -m benchmarks.drift.bench_drift [--quick] [--size large|small|both]
        [--json OUT] [--peers all|none|scipy,evidently,nannyml,alibi] [--timeout 900]
        [--data-dir DIR] [--seed N]

Every tool runs in its own process on the same seeded parquet files (:mod:`.dataset`):
Watchkeeper and the SciPy loop with this interpreter, the other peers with the interpreter
of ``benchmarks/drift/.venv-peers`` (made by ``peers.sh``), so that they never enter
Watchkeeper's dependencies. A peer that is not installed, fails or runs past ``--timeout``
is reported as such and the run goes on. ``--quick`` uses the tiny data with Watchkeeper and
the SciPy loop only. How each tool is called and how memory is measured: ``worker.py``,
the modules in ``peers/`` and ``benchmarks/drift/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.drift.dataset import SIZES, DataFiles, ensure_dataset

__all__ = ["PEERS", "RUNS", "Run", "main", "summarize"]

ROOT = Path(__file__).resolve().parents[2]
PEERS_PYTHON = Path(__file__).resolve().parent / ".venv-peers" / "bin" / "python"
PEERS = ("scipy", "evidently", "nannyml", "alibi")
P_TESTS = frozenset({"ks", "chisquare"})
MIB = 1024 * 1024
GOAL_SPEEDUP = 10.0
GOAL_LARGE_CHECK_S = 0.4
GOAL_P_DIFF = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One row of the table: a tool, its mode, and the interpreter that runs it."""

    key: str
    peer: str  # "" for Watchkeeper itself
    label: str
    module: str
    mode: str = "default"
    own_venv: bool = True  # False: runs with the peers' virtualenv


RUNS = (
    Run(key="watchkeeper", peer="", label="watchkeeper check (defaults)",
        module="benchmarks.drift.watchkeeper_check"),
    Run(key="scipy", peer="scipy", label="scipy loop (ks/chi2, BH)",
        module="benchmarks.drift.peers.scipy_loop"),
    Run(key="evidently", peer="evidently", label="evidently preset (defaults)",
        module="benchmarks.drift.peers.evidently_preset", own_venv=False),
    Run(key="evidently-forced", peer="evidently", label="evidently preset (ks/chisquare)",
        module="benchmarks.drift.peers.evidently_preset", mode="forced", own_venv=False),
    Run(key="nannyml", peer="nannyml", label="nannyml univariate (defaults)",
        module="benchmarks.drift.peers.nannyml_univariate", own_venv=False),
    Run(key="alibi", peer="alibi", label="alibi-detect TabularDrift",
        module="benchmarks.drift.peers.alibi_tabular", own_venv=False),
)
HEADER = (f"{'tool':<32} {'prepare s':>9} {'check s':>8} {'cpu s':>7} {'total s':>8} {'x WK':>6} "
          f"{'peak MiB':>9} {'+MiB':>7} {'flagged':>7} {'missed':>6} {'false':>5} "
          f"{'max|p-p_scipy|':>14}")


def _parse_peers(text: str) -> tuple[str, ...]:
    if text == "all":
        return PEERS
    if text == "none":
        return ()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in PEERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown peer {unknown[0] if unknown else text!r}; use all, none, or a comma-"
            f"separated list of {', '.join(PEERS)}")
    return names


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _run_worker(run: Run, files: DataFiles, workdir: Path, timeout: int) -> dict[str, Any]:
    python = sys.executable if run.own_venv else str(PEERS_PYTHON)
    if not run.own_venv and not PEERS_PYTHON.exists():
        return {"status": "not installed", "error": "no benchmarks/drift/.venv-peers; "
                "run: bash benchmarks/drift/peers.sh"}
    job = {"tool": run.key, "mode": run.mode, "reference": str(files.reference),
           "current": str(files.current), "numeric": list(files.numeric),
           "categorical": list(files.categorical)}
    job_path, out_path = workdir / f"{run.key}.job.json", workdir / f"{run.key}.out.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    env = {**os.environ, "DO_NOT_TRACK": "1", "NML_DISABLE_USAGE_LOGGING": "1"}
    try:
        done = subprocess.run([python, "-m", run.module, str(job_path), str(out_path)],
                              cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "timed out", "error": f"no result within {timeout} s (--timeout)"}
    if not out_path.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"status": "failed", "error": f"exit {done.returncode}: {' | '.join(tail)}"}
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    return result


def _reference_p_values(rows: dict[str, dict[str, Any]], files: DataFiles) -> dict[str, float]:
    scipy_row = rows.get("scipy")
    if scipy_row and scipy_row.get("status") == "ok":
        return {k: float(v) for k, v in scipy_row["outcome"]["p_values"].items()}
    import pyarrow.parquet as pq

    from benchmarks.drift.peers.scipy_loop import scipy_p_values
    from benchmarks.drift.worker import Job

    job = Job(tool="scipy", mode="default", reference=str(files.reference),
              current=str(files.current), numeric=files.numeric, categorical=files.categorical)
    return scipy_p_values(pq.read_table(job.reference), pq.read_table(job.current), job)


def summarize(row: dict[str, Any], truth: Sequence[str], wk_check_s: float | None,
              p_scipy: dict[str, float]) -> dict[str, Any]:
    """Add the derived figures to one tool's result: ratio, misses, false alarms, p-diff."""
    if row.get("status") != "ok":
        return row
    outcome = row["outcome"]
    flagged = set(outcome["flagged"])
    diffs = [abs(float(p) - p_scipy[c]) for c, p in outcome["p_values"].items()
             if p is not None and outcome["tests"].get(c) in P_TESTS and c in p_scipy]
    return {**row, "flagged": sorted(flagged), "missed": sorted(set(truth) - flagged),
            "false_alarms": sorted(flagged - set(truth)),
            "ratio": row["check_s"] / wk_check_s if wk_check_s else None,
            "p_compared": len(diffs), "max_p_diff": max(diffs) if diffs else None}


def _format_row(label: str, row: dict[str, Any]) -> str:
    if row.get("status") != "ok":
        return f"{label:<32} {row.get('status')}: {row.get('error', '')}"
    ratio = f"{row['ratio']:.1f}x" if row.get("ratio") is not None else "-"
    p_diff = f"{row['max_p_diff']:.1e}" if row.get("max_p_diff") is not None else "-"
    increment = row["increment"] / MIB if row.get("increment") is not None else float("nan")
    total = row["prepare_s"] + row["check_s"]
    return (f"{label:<32} {row['prepare_s']:>9.3f} {row['check_s']:>8.3f} "
            f"{row['check_cpu_s']:>7.3f} {total:>8.3f} "
            f"{ratio:>6} {row['peak_rss'] / MIB:>9.1f} {increment:>7.1f} {len(row['flagged']):>7} "
            f"{len(row['missed']):>6} {len(row['false_alarms']):>5} {p_diff:>14}")


def _check_cost(row: dict[str, Any]) -> float:
    return float(row["check_s"])


def _total_cost(row: dict[str, Any]) -> float:
    return float(row["prepare_s"]) + float(row["check_s"])


def _goals(rows: dict[str, dict[str, Any]], size: str, truth: Sequence[str]) -> list[str]:
    wk = rows["watchkeeper"]
    if wk.get("status") != "ok":
        return [f"watchkeeper: {wk.get('status')}: {wk.get('error', '')}"]
    lines = []
    peers = [(k, r) for k, r in rows.items() if k != "watchkeeper" and r.get("status") == "ok"]
    if peers:
        for what, cost in (("check", _check_cost), ("prepare+check", _total_cost)):
            key, fastest = min(peers, key=lambda kr, cost=cost: cost(kr[1]))  # type: ignore[misc]
            speedup = cost(fastest) / wk["check_s"]
            lines.append(f"fastest peer by {what}: {key} {cost(fastest):.3f}s; watchkeeper check "
                         f"{wk['check_s']:.3f}s is {speedup:.1f}x faster (goal >= "
                         f"{GOAL_SPEEDUP:.0f}x): {'met' if speedup >= GOAL_SPEEDUP else 'missed'}")
        lowest_key, lowest = min(peers, key=lambda kr: kr[1]["peak_rss"])
        below = wk["peak_rss"] < lowest["peak_rss"]
        lines.append(f"peak RSS: watchkeeper {wk['peak_rss'] / MIB:.1f} MiB, lowest peer "
                     f"{lowest_key} {lowest['peak_rss'] / MIB:.1f} MiB: below every peer: "
                     f"{'yes' if below else 'no'}")
    if size == "large":
        ok = wk["check_s"] <= GOAL_LARGE_CHECK_S
        lines.append(f"watchkeeper check {wk['check_s']:.3f}s on large (goal <= "
                     f"{GOAL_LARGE_CHECK_S}s): {'met' if ok else 'missed'}")
    exact = not wk["missed"] and not wk["false_alarms"]
    lines.append(f"watchkeeper flagged exactly the {len(truth)} drifted columns: "
                 f"{'yes' if exact else 'no'}")
    if wk.get("max_p_diff") is not None:
        ok = wk["max_p_diff"] <= GOAL_P_DIFF
        lines.append(f"watchkeeper p-values vs scipy over {wk['p_compared']} ks/chisquare "
                     f"columns: max |diff| {wk['max_p_diff']:.1e} (goal <= {GOAL_P_DIFF:g}): "
                     f"{'met' if ok else 'missed'}")
    return lines


def bench_size(size: str, runs: Sequence[Run], args: argparse.Namespace) -> dict[str, Any]:
    """Run every tool on one size; print its table; return its figures."""
    files = ensure_dataset(SIZES[size], args.data_dir, args.seed)
    print(f"\nsize {size}: reference {files.size.reference_rows:,} rows, current "
          f"{files.size.current_rows:,} rows; {len(files.numeric)} numeric + "
          f"{len(files.categorical)} categorical columns, {len(files.drifted)} drifted "
          f"({', '.join(files.drifted)})", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        for run in runs:
            rows[run.key] = _run_worker(run, files, Path(tmp), args.timeout)
    p_scipy = _reference_p_values(rows, files)
    wk = rows["watchkeeper"]
    wk_check = wk.get("check_s") if wk.get("status") == "ok" else None
    rows = {k: summarize(r, files.drifted, wk_check, p_scipy) for k, r in rows.items()}
    print(HEADER)
    for run in runs:
        print(_format_row(run.label, rows[run.key]))
    for run in runs:
        row = rows[run.key]
        if row.get("status") == "ok" and (row["missed"] or row["false_alarms"]):
            print(f"  {run.key}: missed {', '.join(row['missed']) or '-'}; false alarms "
                  f"{', '.join(row['false_alarms']) or '-'}")
        if row.get("status") == "ok" and row["outcome"].get("note"):
            print(f"  {run.key}: {row['outcome']['note']}")
        if row.get("status") == "ok" and len(row["check_runs"]) > 1:
            print(f"  {run.key}: first check {row['check_runs'][0]:.3f}s, median of "
                  f"{len(row['check_runs'])} {row['check_s']:.3f}s")
    goals = _goals(rows, size, files.drifted)
    for line in goals:
        print(line)
    return {"size": size, "reference_rows": files.size.reference_rows,
            "current_rows": files.size.current_rows, "seed": files.seed,
            "drifted": list(files.drifted), "tools": rows, "goals": goals,
            "profile_bytes": wk.get("profile_bytes")}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny data, watchkeeper and the scipy loop only (unless --peers)")
    parser.add_argument("--size", choices=("large", "small", "both"), default="both")
    parser.add_argument("--peers", type=_parse_peers, default=None,
                        help="all (default), none, or a list such as scipy,alibi")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--timeout", type=_positive, default=900,
                        help="seconds one tool may take on one size (default 900)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the generated parquet files are cached")
    parser.add_argument("--seed", type=int, default=20240604)
    args = parser.parse_args(argv)
    peers = args.peers if args.peers is not None else (("scipy",) if args.quick else PEERS)
    sizes = ["tiny"] if args.quick else (["large", "small"] if args.size == "both"
                                         else [args.size])
    runs = [r for r in RUNS if not r.peer or r.peer in peers]
    print(f"Drift benchmark: watchkeeper against {', '.join(peers) or 'no peers'}; "
          f"sizes {', '.join(sizes)}; {os.cpu_count()} CPUs")
    results = [bench_size(size, runs, args) for size in sizes]
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "drift", "quick": args.quick,
                                         "peers": list(peers), "cpus": os.cpu_count(),
                                         "sizes": results}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
