"""Golden rule files: ``tests/golden/rules/<case>/in.yaml`` → ``out.rules.yml``.

Run with ``--update-golden`` to rewrite the outputs after a deliberate change; the
integration tests check every output with real ``promtool``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError, ConfigErrors
from monitor.slo.model import SLOSpec
from monitor.slo.promtool_tests import render_tests
from monitor.slo.rules import render_rules
from monitor.slo.spec import SLO_KIND, from_document

GOLDEN = Path(__file__).parents[2] / "golden" / "rules"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "in.yaml").exists())


def read_specs(path: Path) -> list[SLOSpec]:
    """Read the native SLOs of *path*; fail on any problem."""
    errors: list[ConfigError] = []
    specs = [from_document(doc, errors) for doc in load_file(path, path.name, errors)
             if doc.kind == SLO_KIND]
    if errors:
        raise ConfigErrors(errors)
    return [spec for spec in specs if spec is not None]


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 3


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_generated_rules_match_golden(case: Path, request: pytest.FixtureRequest) -> None:
    specs = read_specs(case / "in.yaml")
    assert specs
    outputs = {"out.rules.yml": render_rules(specs)}
    if len(specs) == 1:
        outputs["out.test.yml"] = render_tests(specs[0], "out.rules.yml")
    for name, text in outputs.items():
        golden = case / name
        if request.config.getoption("--update-golden"):
            golden.write_text(text, encoding="utf-8")
        assert golden.exists(), f"{golden} is missing; run pytest --update-golden"
        assert text == golden.read_text(encoding="utf-8"), f"{case.name}/{name} changed"
