"""The plain SciPy loop: one ``ks_2samp`` per numeric column, one ``chi2_contingency`` per
categorical column, Benjamini-Hochberg over the p-values at the job's alpha.

Nothing is prepared ahead: every check sorts the reference again, as a loop written by hand
would. Categories are counted with pyarrow's ``value_counts`` over the union of the levels of
both windows. Its p-values are the reference the other tools' are compared with. It needs
numpy, scipy and pyarrow only, so it runs in Watchkeeper's virtualenv too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.drift.worker import Job, Outcome, Tool, main

__all__ = ["TOOL", "category_counts", "scipy_p_values"]


def _load(job: Job) -> tuple[Any, Any]:
    import pyarrow.parquet as pq
    import scipy.stats  # type: ignore[import-untyped, unused-ignore]  # noqa: F401  (before the memory baseline)

    return pq.read_table(job.reference), pq.read_table(job.current)


def category_counts(reference: Any, current: Any) -> np.ndarray:
    """Return the 2 x k table of counts of two pyarrow string columns over their levels."""
    import pyarrow.compute as pc

    counts: list[dict[str, int]] = []
    for column in (reference, current):
        pairs = pc.value_counts(column.drop_null()).to_pylist()
        counts.append({str(p["values"]): int(p["counts"]) for p in pairs})
    levels = sorted(set(counts[0]) | set(counts[1]))
    return np.array([[c.get(level, 0) for level in levels] for c in counts], dtype=np.int64)


def scipy_p_values(reference: Any, current: Any, job: Job) -> dict[str, float]:
    """Return each column's SciPy p-value: KS for numeric, chi-square contingency otherwise."""
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    p_values: dict[str, float] = {}
    for name in job.numeric:
        ref = reference.column(name).to_numpy()
        cur = current.column(name).to_numpy()
        p_values[name] = float(stats.ks_2samp(ref, cur).pvalue)
    for name in job.categorical:
        table = category_counts(reference.column(name), current.column(name))
        p_values[name] = float(stats.chi2_contingency(table).pvalue)
    return p_values


def _check(state: None, data: tuple[Any, Any], job: Job) -> Outcome:
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    reference, current = data
    p_values = scipy_p_values(reference, current, job)
    names = list(p_values)
    adjusted = stats.false_discovery_control(np.array([p_values[n] for n in names]), method="bh")
    flagged = tuple(n for n, p in zip(names, adjusted, strict=True) if p < job.alpha)
    tests = {n: "ks" if n in job.numeric else "chisquare" for n in names}
    return Outcome(flagged=flagged, tests=tests, p_values=p_values,
                   note=f"Benjamini-Hochberg at {job.alpha}")


TOOL = Tool(name="scipy", packages=("scipy", "numpy", "pyarrow"), load=_load,
            prepare=lambda data, job: None, check=_check)

if __name__ == "__main__":
    raise SystemExit(main(TOOL))
