"""Drift baselines are versioned (an identical profile is not stored twice); runs keep reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.store import Database
from monitor.store.drift import BaselineStore, DriftRunStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_baselines_get_a_new_version_only_when_the_profile_changes(database: Database) -> None:
    store = BaselineStore(database)
    assert store.latest("churn") is None and store.versions("churn") == []
    first = store.add("churn", b"\x00profile-1", source="train.parquet", rows=10, now=T0)
    again = store.add("churn", b"\x00profile-1", source="train.parquet", rows=10, now=T0 + HOUR)
    second = store.add("churn", b"\x00profile-2", source="train.parquet", rows=12,
                       now=T0 + 2 * HOUR)
    other = store.add("fraud", b"\x00profile-1", source="f.parquet", rows=3, now=T0)
    assert (first.version, again.version, second.version, other.version) == (1, 1, 2, 1)
    assert again.created_at == T0 and again.profile == b"\x00profile-1"
    latest = store.latest("churn")
    assert latest is not None and (latest.version, latest.rows, latest.profile) == (
        2, 12, b"\x00profile-2")
    assert store.versions("churn") == [1, 2]
    old = store.get("churn", 1)
    assert old is not None and old.profile == b"\x00profile-1" and len(old.sha256) == 64
    assert store.get("churn", 3) is None


def test_runs_keep_their_report_and_the_latest_per_monitor(database: Database) -> None:
    runs = DriftRunStore(database)
    for i, monitor in enumerate(["churn", "fraud", "churn"]):
        runs.add(monitor=monitor, model=monitor, baseline_version=1, window_start=T0,
                 window_end=T0 + HOUR, rows=100 + i, status="ok", drifted=i, now=T0 + i * HOUR,
                 report={"features": [{"feature": "age", "p_value": 0.5 - i / 10}]})
    assert [r.rows for r in runs.list()] == [102, 101, 100]
    assert [r.rows for r in runs.list("churn")] == [102, 100]
    latest = runs.latest_per_monitor()
    assert {m: r.rows for m, r in latest.items()} == {"churn": 102, "fraud": 101}
    assert latest["churn"].report == {"features": [{"feature": "age", "p_value": 0.3}]}
    assert latest["churn"].window_end - latest["churn"].window_start == HOUR
