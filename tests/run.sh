#!/usr/bin/env bash
# Install what the tests need (Debian's Prometheus and Alertmanager packages when missing,
# the Python packages into .venv) and run the whole suite.
# The store tests run on SQLite and on the PostgreSQL named by
# WATCHKEEPER_TEST_POSTGRES_URL (default: the local server at 127.0.0.1:5432, database test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-components.sh   # prometheus, promtool, alertmanager, amtool (Debian)
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,train]' torch==2.13.0
export WATCHKEEPER_TEST_POSTGRES_URL="${WATCHKEEPER_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
exec .venv/bin/python -m pytest "$@"
