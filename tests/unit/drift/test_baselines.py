"""Baselines from parquet files, folders, URLs and a Feast file offline store."""

from __future__ import annotations

import importlib
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from monitor.drift.baselines import build_profile, open_dataset, read_feast_profile
from monitor.drift.profile import FeatureKind

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _table(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"x": rng.normal(size=n), "k": rng.integers(0, 5, n),
                     "plan": pa.array(rng.choice(["basic", "pro", "max"], n))})


def test_parquet_file_profiles_every_column(tmp_path: Path) -> None:
    table = _table(500)
    pq.write_table(table, tmp_path / "train.parquet")
    profile = build_profile(tmp_path / "train.parquet")
    assert profile.rows == 500 and list(profile.features) == ["x", "k", "plan"]
    x = profile.features["x"]
    assert x.kind is FeatureKind.NUMERIC and x.values is not None
    np.testing.assert_array_equal(x.values, np.sort(table["x"].to_numpy()))
    assert profile.features["plan"].kind is FeatureKind.CATEGORICAL
    assert sum(profile.features["plan"].categories.values()) == 500
    assert profile.source == str(tmp_path / "train.parquet")


def test_batches_give_the_same_profile_and_report_progress(tmp_path: Path) -> None:
    pq.write_table(_table(1000), tmp_path / "t.parquet", row_group_size=100)
    calls: list[tuple[int, int | None]] = []
    small = build_profile(tmp_path / "t.parquet", batch_rows=64,
                          on_progress=lambda done, total: calls.append((done, total)))
    whole = build_profile(tmp_path / "t.parquet")
    assert small.rows == whole.rows == 1000
    for name, feature in whole.features.items():
        other = small.features[name]
        assert (other.kind, other.count, other.missing) == (feature.kind, feature.count,
                                                            feature.missing)
        assert dict(other.categories) == dict(feature.categories)
        if feature.values is not None:
            assert other.values is not None
            np.testing.assert_array_equal(other.values, feature.values)
    assert calls[0] == (0, 1000) and calls[-1] == (1000, 1000) and len(calls) > 10
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_folder_with_hive_partitions_recursively(tmp_path: Path) -> None:
    for i, (region, day) in enumerate([("eu", "2026-01-01"), ("eu", "2026-01-02"),
                                       ("us", "2026-01-01")]):
        folder = tmp_path / "data" / f"region={region}" / f"day={day}"
        folder.mkdir(parents=True)
        pq.write_table(_table(100, seed=i), folder / "part-0.parquet")
    (tmp_path / "data" / "_SUCCESS").write_text("")
    profile = build_profile(tmp_path / "data", categorical=["k"])
    assert profile.rows == 300 and list(profile.features) == ["x", "k", "plan"]
    assert profile.features["k"].kind is FeatureKind.CATEGORICAL
    named = build_profile(tmp_path / "data", features=["region", "x"])
    assert list(named.features) == ["region", "x"]
    assert dict(named.features["region"].categories) == {"eu": 200, "us": 100}


def test_file_urls_and_fsspec_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pq.write_table(_table(50), tmp_path / "t.parquet")
    assert build_profile(f"file://{tmp_path / 't.parquet'}").rows == 50
    asked: list[str] = []

    def url_to_fs(url: str) -> tuple[pafs.FileSystem, str]:
        """Stand in for fsspec.core.url_to_fs: gs://bucket/KEY -> the local tmp_path/KEY."""
        asked.append(url)
        return pafs.LocalFileSystem(), str(tmp_path / url.removeprefix("gs://bucket/"))

    fake = types.ModuleType("fsspec")
    fake.core = types.SimpleNamespace(url_to_fs=url_to_fs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fsspec", fake)
    assert build_profile("gs://bucket/t.parquet", features=["x"]).rows == 50
    assert asked == ["gs://bucket/t.parquet"]
    with pytest.raises(FileNotFoundError, match="baseline gs://bucket/nope does not exist"):
        build_profile("gs://bucket/nope")


def test_a_real_fsspec_filesystem_when_installed(tmp_path: Path) -> None:
    try:
        fsspec = importlib.import_module("fsspec")
    except ImportError:   # fsspec is optional: then the URL must say how to install it
        with pytest.raises(ImportError, match="pip install fsspec"):
            build_profile("memory://wk-test/base")
        return
    memory = fsspec.filesystem("memory")
    with memory.open("/wk-test/base/t.parquet", "wb") as fh:
        pq.write_table(_table(70), fh)
    try:
        profile = build_profile("memory://wk-test/base", features=["x"])
        assert profile.rows == 70 and list(profile.features) == ["x"]
        with pytest.raises(FileNotFoundError, match="baseline memory://wk-test/nope does not"):
            build_profile("memory://wk-test/nope")
    finally:
        memory.rm("/wk-test", recursive=True)


def test_a_url_without_fsspec_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(ImportError, match=r"s3://b/k needs fsspec .* pip install fsspec"):
        build_profile("s3://b/k")


def test_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"baseline .*missing.parquet does not exist"):
        build_profile(tmp_path / "missing.parquet")
    pq.write_table(_table(10), tmp_path / "t.parquet")
    with pytest.raises(ValueError, match=r"feature column\(s\) age, y not found; columns: x, k, "
                                         r"plan"):
        build_profile(tmp_path / "t.parquet", features=["x", "age", "y"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no parquet file"):
        open_dataset(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"baseline .*t.parquet: column 'plan': '.*' is not a "
                                         r"number"):
        build_profile(tmp_path / "t.parquet", numeric=["plan"])
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="is not readable parquet"):
        build_profile(tmp_path / "bad.parquet")


def _feast(path: Path, *, tz: str | None = "UTC") -> pa.Table:
    n = 240
    rng = np.random.default_rng(3)
    times = [T0 + timedelta(hours=i) for i in range(n)]
    ts = pa.array([t if tz else t.replace(tzinfo=None) for t in times],
                  type=pa.timestamp("us", tz=tz))
    table = pa.table({"customer_id": np.arange(n), "event_timestamp": ts,
                      "created": ts, "tenure": np.arange(n, dtype=np.int64),
                      "charges": rng.uniform(10, 100, n),
                      "contract": pa.array(rng.choice(["m", "y"], n))})
    pq.write_table(table, path)
    return table


@pytest.mark.parametrize("tz", ["UTC", None], ids=["aware", "naive"])
def test_feast_time_range_and_columns(tmp_path: Path, tz: str | None) -> None:
    _feast(tmp_path / "f.parquet", tz=tz)
    calls: list[tuple[int, int | None]] = []
    profile = read_feast_profile(tmp_path / "f.parquet", entity_columns=["customer_id"],
                                 created_timestamp_column="created",
                                 start=T0 + timedelta(hours=24), end=T0 + timedelta(hours=72),
                                 on_progress=lambda d, t: calls.append((d, t)))
    assert profile.rows == 48
    assert list(profile.features) == ["tenure", "charges", "contract"]
    tenure = profile.features["tenure"]
    assert tenure.values is not None
    np.testing.assert_array_equal(tenure.values, np.arange(24, 72, dtype=np.float64))
    assert calls[-1] == (48, 48)
    named = read_feast_profile(tmp_path / "f.parquet", features=["charges"],
                               entity_columns=["customer_id"], end=T0 + timedelta(hours=10))
    assert list(named.features) == ["charges"] and named.rows == 10


def test_feast_errors(tmp_path: Path) -> None:
    _feast(tmp_path / "f.parquet")
    with pytest.raises(ValueError, match=r"has no 'ts' column; set timestamp_column to one of: "
                                         r"customer_id, event_timestamp"):
        read_feast_profile(tmp_path / "f.parquet", timestamp_column="ts")
    with pytest.raises(ValueError, match=r"feature column\(s\) churn not found"):
        read_feast_profile(tmp_path / "f.parquet", features=["churn"])
    with pytest.raises(ValueError, match="customer_id named both as feature and entity column"):
        read_feast_profile(tmp_path / "f.parquet", features=["customer_id"],
                           entity_columns=["customer_id"])
    with pytest.raises(ValueError, match="no entity column 'driver_id'"):
        read_feast_profile(tmp_path / "f.parquet", entity_columns=["driver_id"])
    with pytest.raises(ValueError, match="column 'tenure' is int64, not a timestamp"):
        read_feast_profile(tmp_path / "f.parquet", timestamp_column="tenure")
    with pytest.raises(ValueError, match="end .* must be after start"):
        read_feast_profile(tmp_path / "f.parquet", start=T0, end=T0)
