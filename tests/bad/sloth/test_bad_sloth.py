"""Bad Sloth files and catalogues: each ``<case>.yaml`` reports exactly its ``<case>.err``.

Run with ``--update-golden`` to rewrite the ``.err`` files after a deliberate change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError, ConfigErrors
from monitor.slo.formats import read_slos

HERE = Path(__file__).parent
CASES = sorted(HERE.glob("*.yaml"))


def _report(path: Path) -> str:
    errors: list[ConfigError] = []
    read_slos(load_file(path, path.name, errors), errors)
    assert errors, "a bad file reported no problem"
    return str(ConfigErrors(errors)) + "\n"


def test_every_case_has_its_expected_messages() -> None:
    assert CASES, "no bad cases found"
    assert sorted(p.stem for p in HERE.glob("*.err")) == [p.stem for p in CASES]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_file_reports_exact_messages(path: Path, request: pytest.FixtureRequest) -> None:
    expected = path.with_suffix(".err")
    got = _report(path)
    if request.config.getoption("--update-golden"):
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")
