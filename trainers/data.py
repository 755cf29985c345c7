"""Synthetic churn-like tabular dataset used by the demo trainers, server and traffic generator."""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "FEATURE_COLUMNS",
    "PLANS",
    "TARGET_COLUMN",
    "feature_rows",
    "make_dataset",
    "main",
    "write_dataset",
]

logger = logging.getLogger(__name__)

PLANS: tuple[str, ...] = ("basic", "standard", "premium")
FEATURE_COLUMNS: tuple[str, ...] = (
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "age",
    "plan",
)
TARGET_COLUMN = "churned"

# Effect of each plan on the churn log-odds.
_PLAN_EFFECT: dict[str, float] = {"basic": 0.6, "standard": 0.0, "premium": -0.8}
_PLAN_PROBABILITIES: tuple[float, ...] = (0.45, 0.35, 0.20)


def make_dataset(rows: int, seed: int, shift: float = 0.0) -> pa.Table:
    """Generate ``rows`` customers with a ``churned`` label drawn from a logistic model.

    ``shift`` moves the feature distributions (covariate drift) while the labelling function
    stays the same: positive values mean shorter tenure, higher charges, more support calls,
    younger customers and more ``basic`` plans. ``shift=0`` is the reference distribution.
    """
    if rows < 1:
        raise ValueError(f"make_dataset: rows must be >= 1, got {rows}")
    if not math.isfinite(shift):
        raise ValueError(f"make_dataset: shift must be a finite number, got {shift}")
    rng = np.random.default_rng(seed)

    tenure_scale = 24.0 / (1.0 + max(shift, -0.9) * 0.5)
    tenure = np.clip(np.round(rng.exponential(tenure_scale, rows)) + 1, 1, 72).astype(np.int64)
    charges = np.clip(rng.normal(65.0 + 15.0 * shift, 22.0, rows), 18.0, 150.0).round(2)
    calls = rng.poisson(max(1.5 * (1.0 + 0.5 * shift), 0.05), rows).astype(np.int64)
    age = np.clip(np.round(rng.normal(45.0 - 5.0 * shift, 14.0, rows)), 18, 90).astype(np.int64)

    plan_probs = np.array(_PLAN_PROBABILITIES, dtype=np.float64)
    if shift != 0.0:
        # Shift mass towards (shift > 0) or away from (shift < 0) the basic plan.
        plan_probs = plan_probs * np.exp(np.array([0.5, 0.0, -0.5]) * shift)
        plan_probs = plan_probs / plan_probs.sum()
    plan_index = rng.choice(len(PLANS), size=rows, p=plan_probs)
    plans = [PLANS[i] for i in plan_index]
    plan_effect = np.array([_PLAN_EFFECT[p] for p in plans], dtype=np.float64)

    logits = (
        0.1
        - 0.06 * (tenure - 12.0)
        + 0.035 * (charges - 65.0)
        + 0.55 * (calls - 1.5)
        - 0.02 * (age - 45.0)
        + plan_effect
    )
    probability = 1.0 / (1.0 + np.exp(-logits))
    churned = (rng.random(rows) < probability).astype(np.int64)

    table = pa.table(
        {
            "tenure_months": pa.array(tenure, type=pa.int64()),
            "monthly_charges": pa.array(charges, type=pa.float64()),
            "support_calls": pa.array(calls, type=pa.int64()),
            "age": pa.array(age, type=pa.int64()),
            "plan": pa.array(plans, type=pa.string()),
            TARGET_COLUMN: pa.array(churned, type=pa.int64()),
        }
    )
    logger.debug(
        "generated %s rows (seed=%s, shift=%s, churn rate=%.3f)",
        rows,
        seed,
        shift,
        float(churned.mean()),
    )
    return table


def feature_rows(table: pa.Table) -> list[dict[str, object]]:
    """Return the feature columns of ``table`` as one dict per row (the target is dropped)."""
    columns = [name for name in table.column_names if name != TARGET_COLUMN]
    rows: list[dict[str, object]] = table.select(columns).to_pylist()
    return rows


def write_dataset(table: pa.Table, out: Path) -> None:
    """Write ``table`` to ``out`` as parquet, creating the parent directory."""
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.data",
        description="Write a synthetic churn dataset (features + 0/1 'churned' target) as parquet.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output parquet file")
    parser.add_argument("--rows", type=int, default=2000, help="number of rows (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--shift",
        type=float,
        default=0.0,
        help="covariate drift applied to the feature distributions (default 0 = reference)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error(f"--rows must be >= 1, got {args.rows}")
    if not math.isfinite(args.shift):
        parser.error(f"--shift must be a finite number, got {args.shift}")
    out: Path = args.out
    if out.exists() and out.is_dir():
        parser.error(f"--out {out} is a directory; pass a file path such as {out / 'data.parquet'}")
    table = make_dataset(args.rows, args.seed, args.shift)
    try:
        write_dataset(table, out)
    except OSError as exc:
        parser.error(f"--out {out}: cannot write parquet: {exc}")
    churn_rate = sum(table.column(TARGET_COLUMN).to_pylist()) / table.num_rows
    print(f"wrote {table.num_rows} rows to {out} (churn rate {churn_rate:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
