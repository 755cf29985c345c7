"""Shared fixtures: a migrated store on SQLite and on PostgreSQL, and a clean environment."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from monitor.store import Database

POSTGRES_ENV = "WATCHKEEPER_TEST_POSTGRES_URL"
_KEEP_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH",
             "CI", POSTGRES_ENV, "SYSTEMROOT", "USER", "LOGNAME", "SHELL", "TERM"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test with only the basic environment, so ``${ENV}`` references are explicit."""
    for name in list(os.environ):
        if name not in _KEEP_ENV and not name.startswith(("PYTEST_", "COV_")):
            monkeypatch.delenv(name, raising=False)


def postgres_url() -> str | None:
    """Return the PostgreSQL URL for store tests; in CI its absence is a failure."""
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_ENV} is not set: CI must run every store test on PostgreSQL")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Yield a migrated, empty database; PostgreSQL gets a schema of its own per test."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'watchkeeper.db'}")
        db.upgrade()
        yield db
        assert db.checked_out() == 0, "a test left a database connection checked out"
        db.dispose()
        return
    url = postgres_url()
    if not url:
        pytest.skip(f"{POSTGRES_ENV} not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(Database(url).url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(url, schema=schema)
    try:
        db.upgrade()
        yield db
        assert db.checked_out() == 0, "a test left a database connection checked out"
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
