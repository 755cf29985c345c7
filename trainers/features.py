"""Feature encoding for tabular models: standardized numeric columns and one-hot categoricals."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CategoricalFeature",
    "FeatureError",
    "FeatureSpec",
    "NumericFeature",
    "fit_feature_spec",
    "roc_auc",
]

logger = logging.getLogger(__name__)


class FeatureError(ValueError):
    """A prediction input lacks a feature or has a value of the wrong type."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NumericFeature:
    """A numeric input column, standardized as ``(x - mean) / std``."""

    name: str
    mean: float
    std: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoricalFeature:
    """A string input column, one-hot encoded over ``categories`` (unknown values encode as 0s)."""

    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSpec:
    """How raw input columns map to the model's input vector."""

    numeric: tuple[NumericFeature, ...]
    categorical: tuple[CategoricalFeature, ...]

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Raw column names a prediction row must provide."""
        return tuple(f.name for f in self.numeric) + tuple(f.name for f in self.categorical)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the encoded model inputs, e.g. ``age`` or ``plan=basic``."""
        names = [f.name for f in self.numeric]
        for feature in self.categorical:
            names.extend(f"{feature.name}={category}" for category in feature.categories)
        return tuple(names)

    @property
    def width(self) -> int:
        """Length of the encoded input vector."""
        return len(self.numeric) + sum(len(f.categories) for f in self.categorical)

    def encode_columns(
        self,
        numeric: Mapping[str, NDArray[np.float64]],
        categorical: Mapping[str, NDArray[np.str_]],
    ) -> NDArray[np.float32]:
        """Encode whole columns (same length each) into a ``(rows, width)`` float32 matrix."""
        parts: list[NDArray[np.float64]] = []
        for num in self.numeric:
            parts.append(((numeric[num.name] - num.mean) / num.std)[:, None])
        for cat in self.categorical:
            values = categorical[cat.name]
            known = np.array(cat.categories, dtype=np.str_)
            parts.append((values[:, None] == known[None, :]).astype(np.float64))
        if not parts:
            raise ValueError("FeatureSpec.encode_columns: the spec has no features")
        return np.concatenate(parts, axis=1).astype(np.float32)

    def encode_rows(self, rows: Sequence[Mapping[str, object]]) -> NDArray[np.float32]:
        """Encode prediction rows; raises :class:`FeatureError` naming a missing or bad feature."""
        numeric: dict[str, NDArray[np.float64]] = {}
        categorical: dict[str, NDArray[np.str_]] = {}
        expected = ", ".join(self.input_columns)
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise FeatureError(
                    f"instance {index} must be a JSON object of feature values, "
                    f"got {type(row).__name__}; expected features: {expected}"
                )
            for name in self.input_columns:
                if name not in row:
                    raise FeatureError(
                        f"missing feature {name!r} in instance {index}; "
                        f"expected features: {expected}"
                    )
        for num in self.numeric:
            numeric[num.name] = np.array(
                [_as_number(row[num.name], num.name, i) for i, row in enumerate(rows)],
                dtype=np.float64,
            )
        for cat in self.categorical:
            categorical[cat.name] = np.array(
                [_as_category(row[cat.name], cat.name, i) for i, row in enumerate(rows)],
                dtype=np.str_,
            )
        if not rows:
            return np.zeros((0, self.width), dtype=np.float32)
        return self.encode_columns(numeric, categorical)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready ``normalization`` and ``categories`` maps stored in ``meta.json``."""
        return {
            "normalization": {f.name: {"mean": f.mean, "std": f.std} for f in self.numeric},
            "categories": {f.name: list(f.categories) for f in self.categorical},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of :meth:`to_json`; raises ``KeyError``/``TypeError`` on malformed input."""
        normalization: Mapping[str, Mapping[str, Any]] = data["normalization"]
        categories: Mapping[str, Sequence[Any]] = data["categories"]
        return cls(
            numeric=tuple(
                NumericFeature(name=str(name), mean=float(s["mean"]), std=float(s["std"]))
                for name, s in normalization.items()
            ),
            categorical=tuple(
                CategoricalFeature(name=str(name), categories=tuple(str(c) for c in values))
                for name, values in categories.items()
            ),
        )


def _as_number(value: object, name: str, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FeatureError(f"feature {name!r} in instance {index} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise FeatureError(f"feature {name!r} in instance {index} must be finite, got {value!r}")
    return number


def _as_category(value: object, name: str, index: int) -> str:
    if not isinstance(value, str):
        raise FeatureError(f"feature {name!r} in instance {index} must be a string, got {value!r}")
    return value


def fit_feature_spec(
    numeric: Mapping[str, NDArray[np.float64]],
    categorical: Mapping[str, NDArray[np.str_]],
) -> FeatureSpec:
    """Compute normalization statistics and sorted category lists from training columns."""
    numeric_features = []
    for name, values in numeric.items():
        mean = float(values.mean())
        std = float(values.std())
        if not math.isfinite(std) or std < 1e-12:
            logger.debug("column %s is constant; using std=1.0", name)
            std = 1.0
        numeric_features.append(NumericFeature(name=name, mean=mean, std=std))
    categorical_features = [
        CategoricalFeature(name=name, categories=tuple(sorted({str(v) for v in values})))
        for name, values in categorical.items()
    ]
    return FeatureSpec(numeric=tuple(numeric_features), categorical=tuple(categorical_features))


def roc_auc(labels: NDArray[np.float64], scores: NDArray[np.float64]) -> float | None:
    """Area under the ROC curve via the Mann-Whitney rank formula (ties get average ranks).

    Returns ``None`` when ``labels`` contains only one class, where AUC is undefined.
    """
    positive = labels == 1
    n_pos = int(positive.sum())
    n_neg = int(labels.shape[0]) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts).astype(np.float64)
    average_rank = upper - (counts - 1) / 2.0  # 1-based mean rank of each tie group
    ranks = average_rank[inverse.reshape(-1)]
    rank_sum = float(ranks[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
