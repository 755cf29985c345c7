"""Real Prometheus and promtool for tests: find the binaries, backfill series, run a server.

The binaries come from Debian's ``prometheus`` package (``tests/install-components.sh``).
A missing binary skips the test, or fails it when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.daemon import stop, wait_ready

__all__ = ["PrometheusServer", "backfill", "openmetrics_lines", "prometheus_server", "require"]

INSTALL = "tests/install-components.sh (apt-get install prometheus)"


def require(binary: str) -> str:
    """Return the path of *binary*; skip the test without it, or fail it in CI."""
    path = shutil.which(binary)
    if path:
        return path
    message = f"{binary} is not installed; run {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def openmetrics_lines(metric: str, labels: Mapping[str, str],
                      points: Iterable[tuple[float, float]]) -> Iterator[str]:
    """Yield OpenMetrics sample lines of one series (without the ``# TYPE`` line)."""
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for ts, value in points:
        yield f"{metric}{{{text}}} {value!r} {ts:.3f}"


def backfill(data_dir: Path, families: Mapping[str, list[str]], work: Path) -> None:
    """Write counter families (name → sample lines) into TSDB blocks under *data_dir*.

    Blocks written before Prometheus starts hold any time range, the last minutes
    included: the server's head block starts after them.
    """
    promtool = require("promtool")
    source = work / "backfill.om"
    with source.open("w", encoding="utf-8") as out:
        for name, lines in sorted(families.items()):
            out.write(f"# TYPE {name} counter\n")
            out.writelines(line + "\n" for line in lines)
        out.write("# EOF\n")
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                    str(source), str(data_dir)], check=True, capture_output=True, timeout=300)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrometheusServer:
    """A running Prometheus on a loopback port, and its HTTP API."""

    url: str
    client: httpx.Client

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Return the ``result`` of an instant query."""
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        response = self.client.get(f"{self.url}/api/v1/query", params=params)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Poll *expr* until it returns something; fail after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"Prometheus returned nothing for {expr} within {timeout:.0f}s")
            time.sleep(0.2)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def prometheus_server(work: Path, rule_files: Iterable[Path], *,
                      evaluation_interval: str = "1s",
                      data_dir: Path | None = None) -> Iterator[PrometheusServer]:
    """Run Prometheus with *rule_files* until the block ends, then stop it."""
    binary = require("prometheus")
    data = data_dir or work / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = work / "prometheus.yml"
    files = "".join(f"  - {path}\n" for path in rule_files)
    config.write_text(f"global:\n  evaluation_interval: {evaluation_interval}\n"
                      f"rule_files:\n{files}", encoding="utf-8")
    port = _free_port()
    log = (work / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=400d",
         "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=30.0) as client:
            wait_ready(client, url, process, name="Prometheus",
                       log_path=work / "prometheus.log", timeout=60)
            yield PrometheusServer(url=url, client=client)
    finally:
        stop(process)
        log.close()
