"""Tests for the tabular MLP trainer, its artifacts, input validation and model loading."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import product
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from trainers import tabular
from trainers.features import FeatureError, roc_auc
from trainers.tabular import ModelLoadError, TrainConfig, TrainingInputError, TrainResult

REPO_ROOT = Path(__file__).resolve().parents[3]
METRIC_KEYS = {
    "train_loss",
    "val_loss",
    "val_accuracy",
    "val_auc",
    "epochs",
    "rows",
    "duration_seconds",
    "device",
    "seed",
}


def _without_duration(metrics: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in metrics.items() if key != "duration_seconds"}


def test_same_seed_gives_identical_metrics_and_weights(
    dataset_path: Path, trained_v1: TrainResult, tmp_path: Path
) -> None:
    again = tabular.train(
        TrainConfig(data=dataset_path, target="churned", out=tmp_path / "again", seed=0)
    )
    first = json.loads((trained_v1.out_dir / "metrics.json").read_text())
    second = json.loads((again.out_dir / "metrics.json").read_text())
    assert _without_duration(first) == _without_duration(second)
    state_a = torch.load(trained_v1.out_dir / "model.pt", weights_only=True)
    state_b = torch.load(again.out_dir / "model.pt", weights_only=True)
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[key], state_b[key]) for key in state_a)


def test_other_seed_gives_other_model(trained_v1: TrainResult, trained_v2: TrainResult) -> None:
    assert trained_v1.metrics.val_loss != trained_v2.metrics.val_loss


def test_metrics_json(trained_v1: TrainResult) -> None:
    metrics = json.loads((trained_v1.out_dir / "metrics.json").read_text())
    assert set(metrics) == METRIC_KEYS
    assert metrics["val_accuracy"] > 0.6
    assert metrics["val_auc"] > 0.75
    assert metrics["rows"] == 2000
    assert metrics["epochs"] == 20
    assert metrics["seed"] == 0
    assert metrics["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert 0 < metrics["train_loss"] < 0.693  # better than a constant 0.5 prediction
    assert 0 < metrics["duration_seconds"] < 30
    assert metrics == trained_v1.metrics.to_json()


def test_meta_json(trained_v1: TrainResult) -> None:
    meta = json.loads((trained_v1.out_dir / "meta.json").read_text())
    assert meta["target"] == "churned"
    assert meta["version"] == "v1"
    assert meta["input_columns"] == [
        "tenure_months",
        "monthly_charges",
        "support_calls",
        "age",
        "plan",
    ]
    assert meta["feature_names"][-3:] == ["plan=basic", "plan=premium", "plan=standard"]
    assert meta["categories"] == {"plan": ["basic", "premium", "standard"]}
    assert set(meta["normalization"]) == {
        "tenure_months",
        "monthly_charges",
        "support_calls",
        "age",
    }
    assert 50 < meta["normalization"]["monthly_charges"]["mean"] < 80
    assert meta["normalization"]["monthly_charges"]["std"] > 5
    assert meta["architecture"] == {
        "type": "mlp",
        "input_dim": 7,
        "hidden": 32,
        "hidden_layers": 2,
        "activation": "relu",
        "output": "sigmoid",
    }
    assert meta["torch_version"] == torch.__version__
    assert meta["device"] in {"cpu", "cuda"}


def test_version_defaults_to_out_dir_name(dataset_path: Path, tmp_path: Path) -> None:
    result = tabular.train(
        TrainConfig(data=dataset_path, target="churned", out=tmp_path / "candidate", epochs=1)
    )
    assert result.version == "candidate"
    assert json.loads((tmp_path / "candidate" / "meta.json").read_text())["version"] == "candidate"


def test_roc_auc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60).astype(np.float64)
    scores = rng.integers(0, 8, 60).astype(np.float64)  # many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    expected = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in product(pos, neg))
    assert roc_auc(labels, scores) == pytest.approx(expected / (len(pos) * len(neg)))
    assert roc_auc(np.array([0.0, 1.0]), np.array([0.2, 0.9])) == 1.0
    assert roc_auc(np.array([1.0, 1.0]), np.array([0.2, 0.9])) is None


def test_loaded_model_predicts(trained_v1: TrainResult, good_row: dict[str, object]) -> None:
    model = tabular.load_model(trained_v1.out_dir)
    loyal = {**good_row, "tenure_months": 70, "support_calls": 0, "plan": "premium"}
    risky, safe = model.predict_proba([good_row, loyal])
    assert 0.0 < safe < risky < 1.0
    assert model.predict_proba([]) == []
    unknown_plan = model.predict_proba([{**good_row, "plan": "enterprise"}])
    assert len(unknown_plan) == 1 and 0.0 < unknown_plan[0] < 1.0


def test_predict_names_missing_feature(
    trained_v1: TrainResult, good_row: dict[str, object]
) -> None:
    model = tabular.load_model(trained_v1.out_dir)
    row = {key: value for key, value in good_row.items() if key != "age"}
    with pytest.raises(FeatureError) as exc_info:
        model.predict_proba([good_row, row])
    assert str(exc_info.value) == (
        "missing feature 'age' in instance 1; expected features: "
        "tenure_months, monthly_charges, support_calls, age, plan"
    )
    with pytest.raises(FeatureError, match="feature 'age' in instance 0 must be a number"):
        model.predict_proba([{**good_row, "age": "old"}])


def test_load_model_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"meta\.json does not exist; train a model into"):
        tabular.load_model(tmp_path / "nothing")


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc_info:
        tabular.main(argv)
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "missing.parquet"
    line = _cli_error(["--data", str(data), "--target", "churned", "--out", str(tmp_path)], capsys)
    assert line == (
        f"python -m trainers.tabular: error: --data {data} does not exist; "
        f"create a dataset with 'python -m trainers.data --out {data}'"
    )


def test_cli_unknown_target(
    dataset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data", str(dataset_path), "--target", "churn", "--out", str(tmp_path / "m")]
    assert _cli_error(argv, capsys) == (
        f"python -m trainers.tabular: error: --target 'churn' is not a column of {dataset_path}; "
        "columns: tenure_months, monthly_charges, support_calls, age, plan, churned"
    )
    assert not (tmp_path / "m").exists()


def test_cli_non_binary_targets(
    dataset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--data", str(dataset_path), "--out", str(tmp_path / "m")]
    assert _cli_error([*base, "--target", "plan"], capsys).endswith(
        f"--target 'plan' in {dataset_path} is not binary: it has type string; "
        "expected only the values 0 and 1"
    )
    path = tmp_path / "multi.parquet"
    pq.write_table(pa.table({"x": list(range(20)), "y": [0, 1, 2, 5] * 5}), path)
    argv = ["--data", str(path), "--target", "y", "--out", str(tmp_path / "m")]
    assert _cli_error(argv, capsys) == (
        f"python -m trainers.tabular: error: --target 'y' in {path} is not binary: "
        "found values 2, 5; expected only 0 and 1"
    )
    pq.write_table(pa.table({"x": list(range(20)), "y": list(range(10)) * 2}), path)
    assert _cli_error(argv, capsys).endswith(
        "is not binary: found values 2, 3, 4, 5, 6 and 3 more; expected only 0 and 1"
    )


def test_cli_single_class_and_nulls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.parquet"
    pq.write_table(
        pa.table({"x": [1.0, 2.0, None] + [3.0] * 9, "y": [1] * 12}),
        path,
    )
    base = ["--data", str(path), "--out", str(tmp_path / "m")]
    assert _cli_error([*base, "--target", "y"], capsys).endswith(
        f"--target 'y' in {path} only has the value 1; both 0 and 1 are needed to train"
    )
    pq.write_table(pa.table({"x": [1.0, None] * 6, "y": [0, 1] * 6}), path)
    assert _cli_error([*base, "--target", "y"], capsys).endswith(
        f"column 'x' of {path} has 6 null values; fill or drop them before training"
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cli_cuda_unavailable(
    dataset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data", str(dataset_path), "--target", "churned", "--out", str(tmp_path / "m")]
    assert _cli_error([*argv, "--device", "cuda"], capsys).endswith(
        f"--device cuda was requested but CUDA is not available to torch {torch.__version__}; "
        "use --device auto or --device cpu"
    )


def test_config_validation() -> None:
    with pytest.raises(TrainingInputError, match="--epochs must be >= 1, got 0"):
        TrainConfig(data=Path("d"), target="y", out=Path("o"), epochs=0)


def test_cli_process_exits_2_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trainers.tabular", "--data", str(tmp_path / "no.parquet")]
        + ["--target", "churned", "--out", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"error: --data {tmp_path / 'no.parquet'} does not exist" in result.stderr
