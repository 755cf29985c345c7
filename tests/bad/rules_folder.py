"""Load one bad rule file as the only file of a rules folder, as ``watchkeeper check`` would.

The service file defines the receivers ``team-slack`` and ``oncall-pagerduty``; each
case's ``.err`` file holds the expected messages, one a line (``--update-golden``
rewrites them after a deliberate change).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.config import ConfigErrors, read_service_config
from monitor.service.assembly import load_rules

SERVICE = """\
database: {url: "sqlite:///x.db"}
rules: rules
receivers:
  - {name: team-slack, type: console}
  - {name: oncall-pagerduty, type: console}
"""


def problems(case: Path, tmp_path: Path) -> list[str]:
    """Return the problems loading *case* reports, in the order ``check`` prints them."""
    (tmp_path / "rules").mkdir()
    shutil.copy(case, tmp_path / "rules" / case.name)
    service = tmp_path / "watchkeeper.yaml"
    service.write_text(SERVICE, encoding="utf-8")
    config, errors = read_service_config(service)
    assert config is not None and not errors, [str(e) for e in errors]
    try:
        load_rules(config, base=tmp_path)
    except ConfigErrors as exc:
        return [str(e) for e in exc.errors]
    return []


def assert_cases_paired(folder: Path) -> None:
    """Every ``.yaml`` case has its ``.err`` file, and there is at least one."""
    cases = sorted(p.stem for p in folder.glob("*.yaml"))
    assert cases, "no bad cases found"
    assert sorted(p.stem for p in folder.glob("*.err")) == cases


def assert_exact_problems(case: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Loading *case* gives exactly the messages of its ``.err`` file."""
    expected = case.with_suffix(".err")
    got = problems(case, tmp_path)
    assert got, f"{case.name} loaded without a problem"
    if request.config.getoption("--update-golden"):
        expected.write_text("".join(f"{line}\n" for line in got), encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8").splitlines()
