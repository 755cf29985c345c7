"""Every bad ``DriftMonitor`` file here gives exactly the problems in its ``.err`` file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bad.rules_folder import assert_cases_paired, assert_exact_problems

HERE = Path(__file__).parent
CASES = sorted(HERE.glob("*.yaml"))


def test_every_case_has_its_expected_messages() -> None:
    assert_cases_paired(HERE)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_drift_monitor_reports_exact_problems(case: Path, tmp_path: Path,
                                         request: pytest.FixtureRequest) -> None:
    assert_exact_problems(case, tmp_path, request)
