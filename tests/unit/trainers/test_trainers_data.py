"""Tests for the synthetic churn dataset generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trainers import data


def test_schema_and_values() -> None:
    table = data.make_dataset(500, seed=3)
    assert table.num_rows == 500
    assert table.column_names == [*data.FEATURE_COLUMNS, data.TARGET_COLUMN]
    assert table.schema.field("plan").type == pa.string()
    assert table.schema.field("monthly_charges").type == pa.float64()
    assert set(table.column("plan").to_pylist()) == set(data.PLANS)
    assert set(table.column("churned").to_pylist()) == {0, 1}
    tenure = table.column("tenure_months").to_numpy()
    assert tenure.min() >= 1 and tenure.max() <= 72


def test_same_seed_same_rows_other_seed_differs() -> None:
    assert data.make_dataset(200, seed=5).equals(data.make_dataset(200, seed=5))
    assert not data.make_dataset(200, seed=5).equals(data.make_dataset(200, seed=6))


def test_shift_moves_feature_distributions() -> None:
    base = data.make_dataset(4000, seed=1)
    drifted = data.make_dataset(4000, seed=1, shift=1.0)

    def mean(table: pa.Table, column: str) -> float:
        return float(np.mean(table.column(column).to_numpy()))

    assert mean(drifted, "monthly_charges") > mean(base, "monthly_charges") + 10
    assert mean(drifted, "support_calls") > mean(base, "support_calls") + 0.5
    assert mean(drifted, "churned") > mean(base, "churned")


def test_label_depends_on_features() -> None:
    table = data.make_dataset(4000, seed=2)
    calls = table.column("support_calls").to_numpy()
    churned = table.column("churned").to_numpy()
    assert churned[calls >= 3].mean() > churned[calls == 0].mean() + 0.2


def test_feature_rows_drop_target() -> None:
    rows = data.feature_rows(data.make_dataset(3, seed=0))
    assert len(rows) == 3
    assert set(rows[0]) == set(data.FEATURE_COLUMNS)


def test_rejects_non_positive_rows() -> None:
    with pytest.raises(ValueError, match="rows must be >= 1, got 0"):
        data.make_dataset(0, seed=0)


def test_cli_writes_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "d.parquet"
    assert data.main(["--out", str(out), "--rows", "123", "--seed", "4", "--shift", "0.5"]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 123
    assert table.equals(data.make_dataset(123, seed=4, shift=0.5))
    assert capsys.readouterr().out.startswith(f"wrote 123 rows to {out}")


def test_cli_rejects_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        data.main(["--out", str(tmp_path / "d.parquet"), "--rows", "0"])
    assert exc_info.value.code == 2
    assert "error: --rows must be >= 1, got 0" in capsys.readouterr().err
