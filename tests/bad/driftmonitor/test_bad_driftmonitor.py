"""Every bad ``DriftMonitor`` file here gives exactly the problems in its ``.err`` file.

Each ``<case>.yaml`` is loaded as the only file of a rules folder whose service file
defines the receivers ``team-slack`` and ``oncall-pagerduty``, as ``watchkeeper check``
would; its ``.err`` file holds the expected messages, one a line. Run with
``--update-golden`` to rewrite the ``.err`` files after a deliberate change.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.config import ConfigErrors, read_service_config
from monitor.service.assembly import load_rules

HERE = Path(__file__).parent
CASES = sorted(HERE.glob("*.yaml"))
SERVICE = """\
database: {url: "sqlite:///x.db"}
rules: rules
receivers:
  - {name: team-slack, type: console}
  - {name: oncall-pagerduty, type: console}
"""


def problems(case: Path, tmp_path: Path) -> list[str]:
    (tmp_path / "rules").mkdir()
    shutil.copy(case, tmp_path / "rules" / case.name)
    service = tmp_path / "watchkeeper.yaml"
    service.write_text(SERVICE, encoding="utf-8")
    config, errors = read_service_config(service)
    assert config is not None and not errors, [str(e) for e in errors]
    try:
        rules = load_rules(config, base=tmp_path)
    except ConfigErrors as exc:
        return [str(e) for e in exc.errors]
    assert rules.routing is None or not rules.routing.name, "loaded without a problem"
    return []


def test_every_case_has_its_expected_messages() -> None:
    assert CASES, "no bad cases found"
    assert sorted(p.stem for p in HERE.glob("*.err")) == [p.stem for p in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_drift_monitor_reports_exact_problems(case: Path, tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    expected = case.with_suffix(".err")
    got = problems(case, tmp_path)
    assert got, f"{case.name} loaded without a problem"
    if request.config.getoption("--update-golden"):
        expected.write_text("".join(f"{line}\n" for line in got), encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8").splitlines()
