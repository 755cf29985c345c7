"""Torch MLP trainer for binary classification on a parquet table (library API and CLI)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from trainers.features import fit_feature_spec, roc_auc
from trainers.model_io import HIDDEN_LAYERS, LoadedModel, ModelLoadError, build_mlp, load_model
from trainers.table_io import TrainingInputError, read_training_data

__all__ = [
    "LoadedModel",
    "ModelLoadError",
    "TrainConfig",
    "TrainMetrics",
    "TrainResult",
    "TrainingInputError",
    "build_mlp",
    "load_model",
    "main",
    "resolve_device",
    "train",
]

logger = logging.getLogger(__name__)

META_FORMAT_VERSION = 1
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """Inputs of one training run; validated on construction."""

    data: Path
    target: str
    out: Path
    epochs: int = 20
    hidden: int = 32
    lr: float = 0.01
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    version: str | None = None
    val_fraction: float = 0.2

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.hidden >= 1, f"--hidden must be >= 1, got {self.hidden}"),
            (self.lr > 0, f"--lr must be > 0, got {self.lr}"),
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (
                0.0 < self.val_fraction < 1.0,
                f"val_fraction must be between 0 and 1, got {self.val_fraction}",
            ),
            (
                self.device in DEVICES,
                f"--device must be one of {', '.join(DEVICES)}, got {self.device!r}",
            ),
            (self.version is None or self.version.strip() != "", "--version must not be empty"),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainingInputError(message)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainMetrics:
    """Contents of ``metrics.json``."""

    train_loss: float
    val_loss: float
    val_accuracy: float
    val_auc: float | None
    epochs: int
    rows: int
    duration_seconds: float
    device: str
    seed: int

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with the keys of ``metrics.json``."""
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainResult:
    """Where a training run wrote its artifacts and what it measured."""

    out_dir: Path
    version: str
    metrics: TrainMetrics
    meta: Mapping[str, Any] = field(repr=False)


def resolve_device(requested: str) -> torch.device:
    """Map ``auto``/``cpu``/``cuda`` to a device; ``auto`` picks CUDA when it is available."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainingInputError(
            f"--device cuda was requested but CUDA is not available to torch {torch.__version__}; "
            "use --device auto or --device cpu"
        )
    if requested not in DEVICES:
        raise TrainingInputError(f"--device must be one of {', '.join(DEVICES)}, got {requested!r}")
    return torch.device(requested)


@contextmanager
def _deterministic_algorithms() -> Iterator[None]:
    """Enable torch deterministic algorithms (warning where none exist), then restore."""
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    # cuBLAS needs a fixed workspace to be deterministic; harmless on CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn_only)


def _fit(
    config: TrainConfig,
    x_train: NDArray[np.float32],
    y_train: NDArray[np.float32],
    device: torch.device,
) -> nn.Sequential:
    torch.manual_seed(config.seed)
    model = build_mlp(x_train.shape[1], config.hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    features = torch.from_numpy(x_train).to(device)
    labels = torch.from_numpy(y_train).to(device)
    shuffler = torch.Generator().manual_seed(config.seed)
    n_rows = features.shape[0]
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(n_rows, generator=shuffler).to(device)
        total = 0.0
        for start in range(0, n_rows, config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(features[batch]).reshape(-1), labels[batch])
            loss.backward()
            optimizer.step()
            total += float(loss.item()) * batch.shape[0]
        logger.debug("epoch %s/%s: train loss %.4f", epoch + 1, config.epochs, total / n_rows)
    model.eval()
    return model


def _evaluate(
    model: nn.Module, x: NDArray[np.float32], y: NDArray[np.float32], device: torch.device
) -> tuple[float, NDArray[np.float64]]:
    with torch.no_grad():
        logits = model(torch.from_numpy(x).to(device)).reshape(-1)
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(y).to(device)
        )
        probabilities = torch.sigmoid(logits).cpu().numpy().astype(np.float64)
    return float(loss.item()), probabilities


def train(config: TrainConfig) -> TrainResult:
    """Train an MLP on ``config.data`` and write ``model.pt``, ``meta.json``, ``metrics.json``.

    Raises :class:`TrainingInputError` for unusable input (missing file, unknown or
    non-binary target, unsupported columns) before any training happens.
    """
    started = time.perf_counter()
    data = read_training_data(config.data, config.target)
    if config.out.exists() and not config.out.is_dir():
        raise TrainingInputError(f"--out {config.out} exists and is not a directory")
    device = resolve_device(config.device)
    version = config.version or config.out.name

    n_rows = data.rows
    n_val = max(1, round(n_rows * config.val_fraction))
    permutation = np.random.default_rng(config.seed).permutation(n_rows)
    val_idx, train_idx = permutation[:n_val], permutation[n_val:]

    spec = fit_feature_spec(
        {name: values[train_idx] for name, values in data.numeric.items()},
        data.categorical,
    )
    matrix = spec.encode_columns(data.numeric, data.categorical)
    labels = data.labels.astype(np.float32)

    with _deterministic_algorithms():
        model = _fit(config, matrix[train_idx], labels[train_idx], device)
        train_loss, _ = _evaluate(model, matrix[train_idx], labels[train_idx], device)
        val_loss, val_prob = _evaluate(model, matrix[val_idx], labels[val_idx], device)

    val_labels = data.labels[val_idx].astype(np.float64)
    accuracy = float(((val_prob >= 0.5).astype(np.float64) == val_labels).mean())
    metrics = TrainMetrics(
        train_loss=train_loss,
        val_loss=val_loss,
        val_accuracy=accuracy,
        val_auc=roc_auc(val_labels, val_prob),
        epochs=config.epochs,
        rows=n_rows,
        duration_seconds=round(time.perf_counter() - started, 4),
        device=device.type,
        seed=config.seed,
    )
    meta: dict[str, Any] = {
        "format_version": META_FORMAT_VERSION,
        "version": version,
        "target": config.target,
        "input_columns": list(spec.input_columns),
        "feature_names": list(spec.feature_names),
        **spec.to_json(),
        "architecture": {
            "type": "mlp",
            "input_dim": spec.width,
            "hidden": config.hidden,
            "hidden_layers": HIDDEN_LAYERS,
            "activation": "relu",
            "output": "sigmoid",
        },
        "training": {
            "data": str(config.data),
            "rows": n_rows,
            "train_rows": int(train_idx.shape[0]),
            "val_rows": n_val,
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "seed": config.seed,
        },
        "torch_version": torch.__version__,
        "device": device.type,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    config.out.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    torch.save(state, config.out / "model.pt")
    (config.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (config.out / "metrics.json").write_text(
        json.dumps(metrics.to_json(), indent=2) + "\n", encoding="utf-8"
    )
    logger.info(
        "trained %s on %s rows: val_accuracy=%.4f val_auc=%s -> %s",
        version,
        n_rows,
        metrics.val_accuracy,
        metrics.val_auc,
        config.out,
    )
    return TrainResult(out_dir=config.out, version=version, metrics=metrics, meta=meta)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.tabular",
        description="Train a torch MLP binary classifier on a parquet table.",
    )
    parser.add_argument("--data", type=Path, required=True, help="training parquet file")
    parser.add_argument("--target", required=True, help="0/1 target column")
    parser.add_argument("--out", type=Path, required=True, help="output model directory")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    parser.add_argument("--batch-size", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="default auto")
    parser.add_argument("--version", default=None, help="version name (default: --out dir name)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; input errors exit with status 2 and a one-line message."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = TrainConfig(
            data=args.data,
            target=args.target,
            out=args.out,
            epochs=args.epochs,
            hidden=args.hidden,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            device=args.device,
            version=args.version,
        )
        result = train(config)
    except TrainingInputError as exc:
        parser.error(str(exc))
    m = result.metrics
    print(
        f"trained {result.version} on {m.rows} rows in {m.duration_seconds:.2f}s ({m.device}): "
        f"val_accuracy={m.val_accuracy:.4f} val_auc={m.val_auc} -> {result.out_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
