"""Evidently 0.7's ``DataDriftPreset``: with its defaults (mode ``default``), or with the
two-sample KS test forced on numeric columns and chi-square on categorical ones (``forced``).

Both windows are pandas DataFrames wrapped in ``Dataset.from_pandas`` with an explicit
``DataDefinition`` (numeric and categorical columns as the dataset defines them); the
report is built with ``include_tests=True`` so that each column's verdict is Evidently's
own (its "Value Drift" test fails when the column drifted). Wrapping both windows is part
of the timed check: Evidently keeps no prepared reference between runs.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from benchmarks.drift.worker import Job, Outcome, Tool, main

__all__ = ["TOOL"]

_P_VALUE_METHODS = {"ks", "chisquare", "K-S p_value", "chi-square p_value"}


def _load(job: Job) -> tuple[Any, Any]:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # no usage telemetry
    import evidently.presets  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    return pd.read_parquet(job.reference), pd.read_parquet(job.current)


def _check(state: None, data: tuple[Any, Any], job: Job) -> Outcome:
    from evidently import DataDefinition, Dataset, Report  # type: ignore[import-not-found, unused-ignore]
    from evidently.presets import DataDriftPreset  # type: ignore[import-not-found, unused-ignore]

    reference, current = data
    definition = DataDefinition(numerical_columns=list(job.numeric),
                                categorical_columns=list(job.categorical))
    preset = (DataDriftPreset(num_method="ks", cat_method="chisquare") if job.mode == "forced"
              else DataDriftPreset())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # chi-square's divide-by-zero on an unseen level
        snapshot = Report([preset], include_tests=True).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition))
    result = snapshot.dict()
    tests: dict[str, str] = {}
    scores: dict[str, float | None] = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith(":ValueDrift"):
            tests[config["column"]] = str(config.get("method"))
            scores[config["column"]] = float(metric["value"])
    flagged = sorted(t["metric_config"]["params"]["column"] for t in result["tests"]
                     if t["id"] == "drift" and t["status"] == "FAIL")
    p_values = {c: (s if tests.get(c) in _P_VALUE_METHODS else None) for c, s in scores.items()}
    methods = ", ".join(sorted(set(tests.values())))
    return Outcome(flagged=tuple(flagged), tests=tests, p_values=p_values, scores=scores,
                   note=f"methods: {methods}")


TOOL = Tool(name="evidently", packages=("evidently", "pandas", "numpy", "scipy"), load=_load,
            prepare=lambda data, job: None, check=_check)

if __name__ == "__main__":
    raise SystemExit(main(TOOL))
