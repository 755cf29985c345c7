"""The code itself: lint, strict typing, the layer contracts, public surfaces, lazy extras."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import monitor

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    done = _run(str(BIN / "ruff"), "check", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_finds_nothing() -> None:
    done = _run(str(BIN / "mypy"), "monitor")
    assert done.returncode == 0, done.stdout + done.stderr


def test_import_layers_hold() -> None:
    done = _run(str(BIN / "lint-imports"))
    assert done.returncode == 0, done.stdout + done.stderr


def _packages() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(monitor.__path__, "monitor.")
                  if m.ispkg and ".migrations" not in m.name)


@pytest.mark.parametrize("name", _packages())
def test_every_package_declares_its_public_surface(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list), f"{name} has no __all__ list"
    for public in exported:
        assert hasattr(module, public), f"{name}.__all__ names {public!r}, which is missing"


def test_import_monitor_loads_no_heavy_extra() -> None:
    code = ("import sys, monitor, monitor.cli, monitor.service; "
            "print(sorted(m for m in ('torch', 'dask', 'kubernetes', 'boto3') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"
