"""Every bad ``AlertRule`` file here gives exactly the problems in its ``.err`` file.

Each ``<case>.yaml`` sits next to ``<case>.err``: the expected messages, one a line,
``path:line:col`` included, in the order ``watchkeeper check`` prints them. Run with
``--update-golden`` to rewrite the ``.err`` files after a deliberate change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.alerting.rules import KIND, from_document
from monitor.config.documents import load_file
from monitor.config.errors import ConfigError, ConfigErrors

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
CASES = sorted(HERE.glob("*.yaml"))


def problems(path: Path) -> list[str]:
    """Load one file as ``watchkeeper check`` would and return its problems, in order."""
    errors: list[ConfigError] = []
    for doc in load_file(path, path.relative_to(ROOT).as_posix(), errors):
        assert doc.kind == KIND
        before = len(errors)
        group = from_document(doc, errors)
        assert (group is None) == (len(errors) > before), f"{doc.name}: loaded half-way"
    return [str(e) for e in ConfigErrors(errors).errors] if errors else []


def test_every_case_has_its_expected_messages() -> None:
    assert CASES, "no bad cases found"
    assert sorted(p.stem for p in HERE.glob("*.err")) == [p.stem for p in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_alert_rule_reports_exact_problems(case: Path,
                                               request: pytest.FixtureRequest) -> None:
    expected = case.with_suffix(".err")
    got = problems(case)
    assert got, f"{case.name} loaded without a problem"
    if request.config.getoption("--update-golden"):
        expected.write_text("".join(f"{line}\n" for line in got), encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8").splitlines()
