"""Watchkeeper's side of the drift benchmark: ``python -m benchmarks.drift.watchkeeper_check``.

Both windows are read with pyarrow (Watchkeeper's own input). The prepare step profiles the
reference with :class:`ProfileBuilder` and then drops the reference table: a deployed check
holds the stored profile, never the reference rows. The timed check profiles the current
window with a new :class:`ProfileBuilder` and runs :func:`check` with the default
:class:`CheckConfig`, which is what a scheduled drift run does with a captured window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.drift.worker import Job, Outcome, Tool, main

__all__ = ["TOOL"]


def _load(job: Job) -> dict[str, Any]:
    import pyarrow.parquet as pq
    import scipy.stats  # type: ignore[import-untyped, unused-ignore]  # noqa: F401  (check imports it lazily)

    import monitor.drift.check  # noqa: F401  (it imports the profile module too)

    return {"reference": pq.read_table(job.reference), "current": pq.read_table(job.current)}


def _prepare(data: dict[str, Any], job: Job) -> Any:
    from monitor.drift.profile import ProfileBuilder

    builder = ProfileBuilder(source=job.reference)
    builder.add_table(data.pop("reference"))
    return builder.finish()


def _check(baseline: Any, data: dict[str, Any], job: Job) -> Outcome:
    from monitor.drift.check import CheckConfig, check
    from monitor.drift.profile import ProfileBuilder

    builder = ProfileBuilder(source=job.current)
    builder.add_table(data["current"])
    report = check(baseline, builder.finish(), CheckConfig())
    failed = [f"{f.feature}: {f.status}: {f.message}" for f in report.features
              if f.status != "ok"]
    return Outcome(flagged=tuple(report.drifted),
                   tests={f.feature: f.test for f in report.features},
                   p_values={f.feature: f.p_value for f in report.features},
                   scores={f.feature: f.effect for f in report.features},
                   note="; ".join(failed))


def _extra(baseline: Any) -> Mapping[str, Any]:
    return {"profile_bytes": len(baseline.to_bytes())}


TOOL = Tool(name="watchkeeper", packages=("watchkeeper", "numpy", "scipy", "pyarrow"),
            load=_load, prepare=_prepare, check=_check, extra=_extra)

if __name__ == "__main__":
    raise SystemExit(main(TOOL))
