"""Every bad ``RemediationPolicy`` file here gives exactly the problems in its ``.err`` file.

Each ``<case>.yaml`` sits next to ``<case>.err``: the expected messages, one a line,
``path:line:col`` included, in the order ``watchkeeper check`` prints them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError, ConfigErrors
from monitor.remediation.spec import KIND, from_document

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
CASES = sorted(HERE.glob("*.yaml"))
# Fixed, so that installing another backend plug-in does not change the expected messages.
BACKENDS = {"local", "dry-run"}


def problems(path: Path) -> list[str]:
    """Load one file as ``watchkeeper check`` would and return its problems, in order."""
    errors: list[ConfigError] = []
    for doc in load_file(path, path.relative_to(ROOT).as_posix(), errors):
        if doc.kind == KIND:
            assert from_document(doc, errors, BACKENDS) is None
    return [str(e) for e in ConfigErrors(errors).errors] if errors else []


def test_every_case_has_its_expected_messages() -> None:
    assert CASES, "no bad cases found"
    missing = [c.name for c in CASES if not c.with_suffix(".err").is_file()]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_policy_reports_exact_problems(case: Path) -> None:
    expected = case.with_suffix(".err").read_text(encoding="utf-8").splitlines()
    assert problems(case) == expected
