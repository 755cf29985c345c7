"""The seeded drift benchmark data: a reference and a current window with 10 known drifted columns.

Every tool in the benchmark reads the same two parquet files, written once per size into a
cache folder, so that the figures compare the same rows. The data follows the issue:

* 20 numeric features ``num_00`` .. ``num_19``, N(0, 1) in the reference. In the current
  window five are shifted by +0.1 sd (:data:`SHIFTED`) and two are scaled by 1.3
  (:data:`SCALED`); the other 13 are drawn again from N(0, 1).
* 5 categorical features ``cat_0`` .. ``cat_4`` with 10 equally likely levels ``L0`` .. ``L9``
  in the reference. In the current window ``cat_0`` moves level ``L0`` from 10% to 14% (the
  other nine share the remaining 86% equally), ``cat_1`` moves ``L3`` from 10% to 13% and
  ``L7`` from 10% to 7% (the rest unchanged), and ``cat_2`` gets an unseen level ``L_new`` in
  2% of the rows (the ten known levels share 98% equally). ``cat_3`` and ``cat_4`` do not
  change.

The ground truth is the 10 drifted columns, :data:`DRIFTED`. This module needs numpy and
pyarrow only, so both the project's virtualenv and the peers' can import it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "CATEGORICAL",
    "DRIFTED",
    "LEVELS",
    "NUMERIC",
    "SCALED",
    "SHIFTED",
    "SIZES",
    "UNSEEN_LEVEL",
    "DataFiles",
    "Size",
    "current_probabilities",
    "default_cache_dir",
    "ensure_dataset",
    "make_tables",
]

FORMAT_VERSION = 1
"""Bumped whenever the generated data changes, so stale cached files are rebuilt."""

NUMERIC = tuple(f"num_{i:02d}" for i in range(20))
CATEGORICAL = tuple(f"cat_{i}" for i in range(5))
LEVELS = tuple(f"L{i}" for i in range(10))
UNSEEN_LEVEL = "L_new"

SHIFTED = ("num_03", "num_07", "num_11", "num_15", "num_19")  # mean + 0.1 sd
SCALED = ("num_05", "num_13")  # sd x 1.3
SHIFT = 0.1
SCALE = 1.3
FREQUENCY_SHIFTED = ("cat_0", "cat_1")
UNSEEN = ("cat_2",)
DRIFTED = tuple(sorted((*SHIFTED, *SCALED, *FREQUENCY_SHIFTED, *UNSEEN)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Size:
    """One size of the benchmark: rows of the reference and of the current window."""

    name: str
    reference_rows: int
    current_rows: int


SIZES: Mapping[str, Size] = {
    "large": Size(name="large", reference_rows=1_000_000, current_rows=100_000),
    "small": Size(name="small", reference_rows=100_000, current_rows=10_000),
    "tiny": Size(name="tiny", reference_rows=20_000, current_rows=10_000),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DataFiles:
    """Where one size's data lies, and what drifted in it."""

    size: Size
    reference: Path
    current: Path
    seed: int
    drifted: tuple[str, ...] = DRIFTED
    numeric: tuple[str, ...] = NUMERIC
    categorical: tuple[str, ...] = CATEGORICAL


def current_probabilities(column: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Return the levels of categorical *column* in the current window and their shares."""
    levels = LEVELS
    if column == "cat_0":  # L0: 10% -> 14%, the other nine share 86%
        probs = np.full(10, 0.86 / 9)
        probs[0] = 0.14
    elif column == "cat_1":  # L3: 10% -> 13%, L7: 10% -> 7%
        probs = np.full(10, 0.10)
        probs[3], probs[7] = 0.13, 0.07
    elif column == "cat_2":  # a level the reference never saw, in 2% of the rows
        levels = (*LEVELS, UNSEEN_LEVEL)
        probs = np.append(np.full(10, 0.098), 0.02)
    else:
        probs = np.full(10, 0.10)
    return levels, probs / probs.sum()


def _categorical(rng: np.random.Generator, levels: tuple[str, ...], probs: np.ndarray,
                 rows: int) -> pa.Array:
    codes = rng.choice(len(levels), size=rows, p=probs).astype(np.int32)
    dictionary = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(levels))
    return dictionary.cast(pa.string())


def make_tables(size: Size, seed: int = 20240604) -> tuple[pa.Table, pa.Table]:
    """Build the reference and current tables of *size* from *seed* (one stream per column)."""
    columns = (*NUMERIC, *CATEGORICAL)
    streams = np.random.SeedSequence(seed).spawn(2 * len(columns))
    reference: dict[str, pa.Array] = {}
    current: dict[str, pa.Array] = {}
    for i, name in enumerate(columns):
        ref_rng = np.random.default_rng(streams[2 * i])
        cur_rng = np.random.default_rng(streams[2 * i + 1])
        if name in NUMERIC:
            reference[name] = pa.array(ref_rng.standard_normal(size.reference_rows))
            values = cur_rng.standard_normal(size.current_rows)
            if name in SHIFTED:
                values += SHIFT
            elif name in SCALED:
                values *= SCALE
            current[name] = pa.array(values)
        else:
            uniform = np.full(len(LEVELS), 1 / len(LEVELS))
            reference[name] = _categorical(ref_rng, LEVELS, uniform, size.reference_rows)
            levels, probs = current_probabilities(name)
            current[name] = _categorical(cur_rng, levels, probs, size.current_rows)
    return pa.table(reference), pa.table(current)


def default_cache_dir() -> Path:
    """Return where generated data is cached: ``$WATCHKEEPER_BENCH_CACHE`` or the temp dir."""
    configured = os.environ.get("WATCHKEEPER_BENCH_CACHE")
    base = Path(configured) if configured else Path(tempfile.gettempdir()) / "watchkeeper-bench"
    return base / "drift"


def ensure_dataset(size: Size, cache_dir: Path | None = None, seed: int = 20240604) -> DataFiles:
    """Write *size*'s parquet files unless an identical cached copy exists; return their paths."""
    folder = (cache_dir or default_cache_dir()) / f"{size.name}-seed{seed}-v{FORMAT_VERSION}"
    files = DataFiles(size=size, reference=folder / "reference.parquet",
                      current=folder / "current.parquet", seed=seed)
    manifest = folder / "manifest.json"
    expected = {"version": FORMAT_VERSION, "seed": seed, "reference_rows": size.reference_rows,
                "current_rows": size.current_rows, "drifted": list(DRIFTED)}
    if manifest.is_file() and files.reference.is_file() and files.current.is_file():
        try:
            if json.loads(manifest.read_text(encoding="utf-8")) == expected:
                return files
        except ValueError:
            pass  # a half-written manifest: rebuild below
    folder.mkdir(parents=True, exist_ok=True)
    reference, current = make_tables(size, seed)
    for table, path in ((reference, files.reference), (current, files.current)):
        partial = path.with_suffix(".partial")
        pq.write_table(table, partial)
        partial.replace(path)
    manifest.write_text(json.dumps(expected), encoding="utf-8")
    return files
