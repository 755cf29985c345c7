"""Bad Sloth and OpenSLO files: each ``<folder>/<case>.yaml`` reports exactly its ``.err``.

Run with ``--update-golden`` to rewrite the ``.err`` files after a deliberate change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError, ConfigErrors
from monitor.slo.formats import read_slos

HERE = Path(__file__).parent
FOLDERS = [HERE / "openslo", HERE / "sloth"]
CASES = sorted(path for folder in FOLDERS for path in folder.glob("*.yaml"))


def _report(path: Path) -> str:
    errors: list[ConfigError] = []
    read_slos(load_file(path, path.name, errors), errors)
    assert errors, "a bad file reported no problem"
    return str(ConfigErrors(errors)) + "\n"


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_every_case_has_its_expected_messages(folder: Path) -> None:
    cases = sorted(p.stem for p in folder.glob("*.yaml"))
    assert cases, f"no bad cases found in {folder.name}"
    assert sorted(p.stem for p in folder.glob("*.err")) == cases


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_bad_file_reports_exact_messages(path: Path, request: pytest.FixtureRequest) -> None:
    expected = path.with_suffix(".err")
    got = _report(path)
    if request.config.getoption("--update-golden"):
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")
