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


ALERTING_ROWS = (
    ("alertmanager", "latency median, push -> webhook, no rule evaluation", "ms"),
    ("alertmanager", "latency p95, push -> webhook, no rule evaluation", "ms"),
    ("watchkeeper", "latency median, breach -> webhook, steps back to back", "ms"),
    ("watchkeeper", "latency p95, breach -> webhook, steps back to back", "ms"),
    ("watchkeeper", "latency median, breach -> webhook, steps every 100ms", "ms"),
    ("watchkeeper", "latency p95, breach -> webhook, steps every 100ms", "ms"),
    ("alertmanager", "throughput, one alert per group, group_wait 0s", "alerts/s"),
    ("watchkeeper", "throughput, one alert per group, group_wait 0s", "alerts/s"),
    ("alertmanager", "throughput, grouped by model, group_wait 1s", "alerts/s"),
    ("watchkeeper", "throughput, grouped by model, group_wait 1s", "alerts/s"),
)
_ALERTING_ROW = re.compile(rf"(?P<tool>alertmanager|watchkeeper) +(?P<metric>\S.*?) +"
                           rf"(?P<value>{_NUMBER}) (?P<unit>ms|alerts/s) +"
                           r"(?P<ratio>-|\d+\.\d\dx)")


def _alerting_bench(*args: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "alerting.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.alerting.bench_alerting",
                           "--quick", "--json", str(out), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(out.read_text(encoding="utf-8"))


def _check_alerting(stdout: str, data: dict[str, Any], database: str) -> None:
    lines = stdout.splitlines()
    assert re.fullmatch(rf"Alerting benchmark: 200 alerts, 3 latency repeats, {database}, "
                        r"alertmanager \S+, \d+ CPUs", lines[0]), lines[0]
    header = lines.index(next(line for line in lines if line.startswith("tool ")))
    assert lines[header].split() == ["tool", "metric", "value", "ratio"]
    rows = [_ALERTING_ROW.fullmatch(line) for line in lines[header + 1:header + 11]]
    assert all(rows), lines[header + 1:header + 11]
    assert [(r["tool"], r["metric"], r["unit"]) for r in rows if r] == list(ALERTING_ROWS)
    for row in rows:
        assert row is not None and float(row["value"].replace(",", "")) > 0
        assert (row["ratio"] == "-") == (row["tool"] == "alertmanager"), row.group(0)
    assert [(x["tool"], x["mode"]) for x in data["latency"]] == [
        ("alertmanager", "push"), ("watchkeeper", "back-to-back"),
        ("watchkeeper", "every-100ms")]
    for latency in data["latency"]:
        assert len(latency["samples_ms"]) == 3 and min(latency["samples_ms"]) > 0
    runs = {(t["tool"], t["scenario"]): t for t in data["throughput"]}
    assert sorted(runs) == [(tool, scenario) for tool in ("alertmanager", "watchkeeper")
                            for scenario in ("by-model", "one-per-group")]
    for run in runs.values():  # every alert arrived, each in its group's first message
        assert run["alerts"] == run["received"] == 200, run
        assert run["bodies"] == run["groups"], run
    assert runs["watchkeeper", "one-per-group"]["groups"] == 200
    assert runs["watchkeeper", "by-model"]["groups"] == 4


def test_alerting_benchmark_prints_its_table(tmp_path: Path) -> None:
    stdout, data = _alerting_bench(tmp_path=tmp_path)
    _check_alerting(stdout, data, "sqlite")
    assert data["plan"]["database"] == ""


def test_alerting_benchmark_runs_on_postgresql(tmp_path: Path) -> None:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} not set")
    stdout, data = _alerting_bench("--database-url", url, tmp_path=tmp_path)
    _check_alerting(stdout, data, "postgresql")


def test_alerting_benchmark_fails_without_alertmanager(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.alerting.bench_alerting",
                           "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "PATH": str(tmp_path)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error: alertmanager or prometheus-alertmanager is not "
                                  "installed: apt-get install prometheus-alertmanager"), \
        done.stderr
    assert done.stdout == ""


def test_alerting_benchmark_rejects_bad_arguments() -> None:
    for args, message in ((["--alerts", "0"], "--alerts must be >= 1, got 0"),
                          (["--repeats", "0"], "--repeats must be >= 1, got 0"),
                          (["--database-url", "mysql://x"],
                           "--database-url must be a postgresql:// URL, got 'mysql://x'")):
        done = subprocess.run([sys.executable, "-m", "benchmarks.alerting.bench_alerting",
                               *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr


DRIFT_HEADER = ["tool", "prepare", "s", "check", "s", "cpu", "s", "total", "s", "x", "WK", "peak",
                "MiB", "+MiB", "flagged", "missed", "false", "max|p-p_scipy|"]
_DRIFT_ROW = re.compile(r"(?P<label>\S.*?)\s+(?P<prepare>\d+\.\d{3})\s+(?P<check>\d+\.\d{3})"
                        r"\s+(?P<cpu>\d+\.\d{3})\s+(?P<total>\d+\.\d{3})"
                        r"\s+(?P<ratio>\d+\.\dx)\s+(?P<peak>\d+\.\d)\s+(?P<increment>\d+\.\d)"
                        r"\s+(?P<flagged>\d+)\s+(?P<missed>\d+)\s+(?P<false>\d+)"
                        r"\s+(?P<p>\d\.\de[-+]\d\d|-)$")


def _drift_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks.drift.bench_drift", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_drift_benchmark_quick_flags_the_drifted_columns(tmp_path: Path) -> None:
    out = tmp_path / "drift.json"
    done = _drift_bench("--quick", "--json", str(out), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("Drift benchmark: watchkeeper against scipy; sizes tiny; "
                        f"{os.cpu_count()} CPUs")
    header = next(i for i, line in enumerate(lines) if line.startswith("tool "))
    assert lines[header].split() == DRIFT_HEADER
    rows = {}
    for line in lines[header + 1:header + 3]:
        match = _DRIFT_ROW.match(line)
        assert match, f"not a table row: {line!r}"
        rows[match["label"]] = match
    assert list(rows) == ["watchkeeper check (defaults)", "scipy loop (ks/chi2, BH)"]
    for row in rows.values():
        assert (int(row["flagged"]), int(row["missed"]), int(row["false"])) == (10, 0, 0)
        assert float(row["check"]) > 0 and float(row["peak"]) > 0
    assert float(rows["watchkeeper check (defaults)"]["p"]) <= 1e-9
    assert "watchkeeper flagged exactly the 10 drifted columns: yes" in lines
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    (size,) = data["sizes"]
    wk, scipy = size["tools"]["watchkeeper"], size["tools"]["scipy"]
    for tool in (wk, scipy):
        assert tool["status"] == "ok", tool
        assert tool["flagged"] == size["drifted"]
        assert tool["missed"] == [] and tool["false_alarms"] == []
    assert wk["p_compared"] == 25 and wk["max_p_diff"] <= 1e-9
