"""NannyML 0.13's ``UnivariateDriftCalculator`` with its default methods (Jensen-Shannon for
continuous and for categorical columns) and default thresholds (three standard deviations of
the metric over the reference chunks).

NannyML compares chunks. The chunk size is the current window's row count, so the current
window is one chunk and the reference is cut into chunks of the same size (10 of them on
both benchmark sizes), from which the thresholds come. ``fit`` on the reference is the
prepare step; ``calculate`` on the current window is the timed check. A column is flagged
when its current chunk raises an alert.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from benchmarks.drift.worker import Job, Outcome, Tool, main

__all__ = ["TOOL"]


def _load(job: Job) -> tuple[Any, Any]:
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no usage telemetry
    import nannyml  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    return pd.read_parquet(job.reference), pd.read_parquet(job.current)


def _prepare(data: tuple[Any, Any], job: Job) -> Any:
    import nannyml  # type: ignore[import-not-found, unused-ignore]

    reference, current = data
    calculator = nannyml.UnivariateDriftCalculator(
        column_names=[*job.numeric, *job.categorical], chunk_size=len(current))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the resulting number of chunks is too low"
        return calculator.fit(reference)


def _check(calculator: Any, data: tuple[Any, Any], job: Job) -> Outcome:
    _, current = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = calculator.calculate(current)
    row = result.filter(period="analysis").to_df().iloc[-1]
    columns = [*job.numeric, *job.categorical]
    methods = {c: str(calculator._column_to_models_mapping[c][0].column_name) for c in columns}
    flagged = tuple(c for c in columns if bool(row[(c, methods[c], "alert")]))
    scores = {c: float(row[(c, methods[c], "value")]) for c in columns}
    return Outcome(flagged=flagged, tests=methods, p_values=dict.fromkeys(columns), scores=scores,
                   note="methods: " + ", ".join(sorted(set(methods.values()))))


TOOL = Tool(name="nannyml", packages=("nannyml", "pandas", "numpy", "scipy"), load=_load,
            prepare=_prepare, check=_check)

if __name__ == "__main__":
    raise SystemExit(main(TOOL))
