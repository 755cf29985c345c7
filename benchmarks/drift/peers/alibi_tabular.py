"""alibi-detect 0.13's ``TabularDrift``: KS per numeric column, chi-square per categorical
column, Bonferroni over the columns at ``p_val=0.05`` (its defaults).

TabularDrift takes one numeric array, so the categorical columns are encoded as integer
codes: the reference's levels in sorted order, and any level the reference never saw as one
more code. The detector gets ``categories_per_feature={index: None}`` for those columns,
which makes it read the levels from the reference and count the union of both windows'
levels. Building the reference array and the detector is the prepare step; encoding the
current window and ``predict`` are the timed check. A column is flagged when its p-value is
below the detector's Bonferroni threshold (``p_val / n_features``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.drift.worker import Job, Outcome, Tool, main

__all__ = ["TOOL"]


def _load(job: Job) -> tuple[Any, Any]:
    import alibi_detect.cd  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    return pd.read_parquet(job.reference), pd.read_parquet(job.current)


def _encode(frame: Any, job: Job, levels: dict[str, list[str]]) -> np.ndarray:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    out = np.empty((len(frame), len(job.numeric) + len(job.categorical)), dtype=np.float64)
    for i, name in enumerate(job.numeric):
        out[:, i] = frame[name].to_numpy(dtype=np.float64)
    for j, name in enumerate(job.categorical, start=len(job.numeric)):
        codes = pd.Categorical(frame[name], categories=levels[name]).codes.astype(np.float64)
        codes[codes < 0] = len(levels[name])  # a level the reference never saw
        out[:, j] = codes
    return out


def _prepare(data: tuple[Any, Any], job: Job) -> tuple[Any, dict[str, list[str]]]:
    from alibi_detect.cd import TabularDrift  # type: ignore[import-not-found, unused-ignore]

    reference, _ = data
    levels = {name: sorted(reference[name].dropna().unique()) for name in job.categorical}
    x_ref = _encode(reference, job, levels)
    categorical = {len(job.numeric) + j: None for j in range(len(job.categorical))}
    return TabularDrift(x_ref, p_val=job.alpha, categories_per_feature=categorical), levels


def _check(state: tuple[Any, dict[str, list[str]]], data: tuple[Any, Any], job: Job) -> Outcome:
    detector, levels = state
    _, current = data
    prediction = detector.predict(_encode(current, job, levels), return_p_val=True)["data"]
    columns = [*job.numeric, *job.categorical]
    p_values = [float(p) for p in prediction["p_val"]]
    threshold = float(prediction["threshold"])
    flagged = tuple(c for c, p in zip(columns, p_values, strict=True) if p < threshold)
    tests = {c: "ks" if c in job.numeric else "chisquare" for c in columns}
    return Outcome(flagged=flagged, tests=tests, p_values=dict(zip(columns, p_values, strict=True)),
                   note=f"Bonferroni threshold {threshold:.4g}; p-values are float32")


TOOL = Tool(name="alibi-detect", packages=("alibi-detect", "pandas", "numpy", "scipy"),
            load=_load, prepare=_prepare, check=_check)

if __name__ == "__main__":
    raise SystemExit(main(TOOL))
