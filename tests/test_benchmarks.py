"""Each benchmark runs in ``--quick`` mode and prints its table; timings are never asserted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import POSTGRES_ENV

ROOT = Path(__file__).parents[1]
SLO_ROWS = ("5m window, 1 tier (5m/1m)", "30d window, 1 tier (5m/1m)",
            "30d window, 4 default tiers")
_NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"
_ROW = re.compile(rf"(?P<title>.+?)\s+(?P<windows>\d+)\s+(?P<ticks>\d+)\s+(?P<median>{_NUMBER})"
                  rf"\s+(?P<p95>{_NUMBER})\s+(?P<rows>{_NUMBER})\s+(?P<us>{_NUMBER})"
                  r"\s+(?P<states>(?:[a-z_]+=\d+ ?)+)$")


def _bench(*args: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.slo.bench_slo", "--quick",
                           "--json", str(out), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(out.read_text(encoding="utf-8"))


def _table(stdout: str) -> dict[str, re.Match[str]]:
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("store tick"))
    assert lines[header].split()[2:] == ["windows/SLO", "ticks", "median", "s", "p95", "s",
                                         "rows/tick", "us/SLO-window", "states"]
    rows = {}
    for line in lines[header + 1:header + 1 + len(SLO_ROWS)]:
        match = _ROW.match(line)
        assert match, f"not a table row: {line!r}"
        rows[match["title"]] = match
    return rows


def test_slo_benchmark_prints_its_table(tmp_path: Path) -> None:
    stdout, data = _bench(tmp_path=tmp_path)
    assert stdout.startswith("SLO evaluation benchmark: 20 SLOs, 40 series, sqlite\n")
    rows = _table(stdout)
    assert list(rows) == list(SLO_ROWS)
    assert [int(r["windows"]) for r in rows.values()] == [3, 4, 9]
    for row in rows.values():
        assert int(row["ticks"]) == 1
        assert float(row["median"]) > 0 and int(row["rows"].replace(",", "")) > 0
        states = dict(s.split("=") for s in row["states"].split())
        assert sum(map(int, states.values())) == 20, row["states"]
        assert "error" not in states and "no_data" not in states
        assert int(states["burning"]) >= 2  # SLOs 0 and 10 burn over their last hour
    assert re.search(r"^30d / 5m window, same tier: \d+\.\d\dx$", stdout, re.M)
    assert re.search(r"^30d with 4 default tiers / 5m with 1 tier: \d+\.\d\dx$", stdout, re.M)
    if "prometheus: " in stdout:  # not installed here: said so, and the store part still ran
        said = r"^prometheus: .*(not installed|failed|did not evaluate)"
        assert re.search(said, stdout, re.M), stdout
        assert not isinstance(data["prometheus"], dict)
    else:
        assert re.search(r"^prometheus \S+: \d+ rule groups, \d+ rules, evaluation_interval "
                         r"1s", stdout, re.M), stdout
        for line in (r"prometheus process CPU per round: \d+\.\d{3}s; iterations missed while "
                     r"measuring: \d+",
                     r"watchkeeper 30d tick / prometheus rule evaluation: \d+\.\d\dx",
                     r"watchkeeper 30d tick / prometheus CPU per round: \d+\.\d\dx"):
            assert re.search(f"^{line}$", stdout, re.M), (line, stdout)
    assert [t["key"] for t in data["ticks"]] == ["5m", "30d-1tier", "30d"]
    assert data["setup"]["samples"] == 20 * 2 * (3 * 24 - 1 + 241)


def test_slo_benchmark_runs_on_postgresql(tmp_path: Path) -> None:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} not set")
    stdout, data = _bench("--database", url, "--skip-prometheus", tmp_path=tmp_path)
    assert stdout.startswith("SLO evaluation benchmark: 20 SLOs, 40 series, postgresql\n")
    assert list(_table(stdout)) == list(SLO_ROWS)
    assert "prometheus: skipped (--skip-prometheus)" in stdout.splitlines()
    assert data["prometheus"] is None


def test_slo_benchmark_rejects_bad_arguments() -> None:
    for args, message in ((["--reps", "0"], "--reps must be >= 1, got 0"),
                          (["--slos", "0"], "--slos must be >= 1, got 0"),
                          (["--coarse-step", "5"], "--coarse-step must be >= 15, got 5")):
        done = subprocess.run([sys.executable, "-m", "benchmarks.slo.bench_slo", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
