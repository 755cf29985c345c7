"""Model artifacts: the MLP architecture and loading a trained model directory for inference."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainers.features import FeatureSpec

__all__ = ["HIDDEN_LAYERS", "LoadedModel", "ModelLoadError", "build_mlp", "load_model"]

logger = logging.getLogger(__name__)

HIDDEN_LAYERS = 2


class ModelLoadError(ValueError):
    """A model directory is missing files or holds files this module cannot read."""


def build_mlp(input_dim: int, hidden: int, hidden_layers: int = HIDDEN_LAYERS) -> nn.Sequential:
    """ReLU MLP with ``hidden_layers`` layers of ``hidden`` units and one output logit."""
    layers: list[nn.Module] = []
    width = input_dim
    for _ in range(hidden_layers):
        layers.extend([nn.Linear(width, hidden), nn.ReLU()])
        width = hidden
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedModel:
    """A trained model read back from disk, ready for CPU inference."""

    directory: Path
    version: str
    target: str
    spec: FeatureSpec
    module: nn.Module = field(repr=False)
    meta: Mapping[str, Any] = field(repr=False)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Feature names every prediction row must provide."""
        return self.spec.input_columns

    def predict_proba(self, rows: Sequence[Mapping[str, object]]) -> list[float]:
        """Probability of the positive class for each row.

        Raises :class:`trainers.features.FeatureError` naming the first missing or invalid
        feature. Safe to call from several threads at once.
        """
        matrix = self.spec.encode_rows(rows)
        if matrix.shape[0] == 0:
            return []
        with torch.inference_mode():
            logits = self.module(torch.from_numpy(matrix)).reshape(-1)
            probabilities: list[float] = torch.sigmoid(logits).tolist()
        return probabilities


def load_model(directory: Path | str) -> LoadedModel:
    """Read a model written by :func:`train` from ``directory`` (inference runs on CPU)."""
    path = Path(directory)
    meta_path, model_path = path / "meta.json", path / "model.pt"
    for required in (meta_path, model_path):
        if not required.is_file():
            raise ModelLoadError(
                f"{required} does not exist; train a model into {path} with "
                f"'python -m trainers.tabular --data FILE.parquet --target COLUMN --out {path}'"
            )
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        spec = FeatureSpec.from_json(meta)
        architecture = meta["architecture"]
        module = build_mlp(
            int(architecture["input_dim"]),
            int(architecture["hidden"]),
            int(architecture["hidden_layers"]),
        )
        version, target = str(meta["version"]), str(meta["target"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(
            f"{meta_path} is not a valid model description ({exc!r}); retrain the model"
        ) from exc
    if module[0].in_features != spec.width:
        raise ModelLoadError(
            f"{meta_path}: architecture input_dim {module[0].in_features} does not match "
            f"{spec.width} encoded features; retrain the model"
        )
    try:
        state = torch.load(model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{model_path} cannot be loaded: {exc}; retrain the model") from exc
    module.eval()
    logger.debug("loaded model %s (target %s) from %s", version, target, path)
    return LoadedModel(
        directory=path, version=version, target=target, spec=spec, module=module, meta=meta
    )
