"""Real Alertmanager for tests: find the binaries, run a server on a loopback port, query it.

The binaries come from Debian's ``prometheus-alertmanager`` package, which names the
server ``prometheus-alertmanager`` (upstream: ``alertmanager``) and ships ``amtool``
(``tests/install-components.sh``). A missing binary skips the test, or fails it when
``CI`` is set. Each server runs in its own temporary folder, without gossip
(``--cluster.listen-address=``), and is stopped when its block ends.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.demo.processes import free_port
from tests.integration.daemon import stop, wait_ready

__all__ = ["AlertmanagerServer", "alertmanager_server", "find_binary"]

INSTALL = "tests/install-components.sh (apt-get install prometheus-alertmanager)"


def find_binary(*names: str) -> str:
    """Return the path of the first of *names* installed; skip without one, or fail in CI."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{' or '.join(names)} is not installed; run {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerServer:
    """A running Alertmanager on a loopback port, its API v2 and ``amtool``."""

    url: str
    client: httpx.Client
    amtool_path: str

    def push(self, alerts: list[Mapping[str, Any]]) -> None:
        """Post alerts to ``/api/v2/alerts``, as Prometheus does."""
        response = self.client.post(f"{self.url}/api/v2/alerts", json=alerts)
        assert response.status_code == 200, response.text

    def notifications(self, integration: str = "webhook") -> tuple[float, float]:
        """Return how many notifications it sent through *integration*, and how many failed."""
        text = self.client.get(f"{self.url}/metrics").text
        totals = {"alertmanager_notifications_total": 0.0,
                  "alertmanager_notifications_failed_total": 0.0}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in totals and sample.labels.get("integration") == integration:
                    totals[sample.name] += sample.value
        return (totals["alertmanager_notifications_total"],
                totals["alertmanager_notifications_failed_total"])

    def amtool(self, *args: str) -> str:
        """Run ``amtool ARGS --alertmanager.url=URL`` and return its standard output."""
        done = subprocess.run([self.amtool_path, *args, f"--alertmanager.url={self.url}"],
                              capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, f"amtool {' '.join(args)}: {done.stderr}"
        return done.stdout

    def query(self, *matchers: str) -> list[dict[str, Any]]:
        """Return ``amtool alert query -o json MATCHERS`` as decoded JSON."""
        found: list[dict[str, Any]] = json.loads(
            self.amtool("alert", "query", "-o", "json", *matchers))
        return found


@contextmanager
def alertmanager_server(work: Path, config: str) -> Iterator[AlertmanagerServer]:
    """Run Alertmanager with *config* (``alertmanager.yml`` text) until the block ends."""
    binary = find_binary("alertmanager", "prometheus-alertmanager")
    amtool = find_binary("amtool")
    work.mkdir(parents=True, exist_ok=True)
    config_file = work / "alertmanager.yml"
    config_file.write_text(config, encoding="utf-8")
    check = subprocess.run([amtool, "check-config", str(config_file)], capture_output=True,
                           text=True, timeout=30, check=False)
    assert check.returncode == 0, f"amtool check-config:\n{check.stdout}{check.stderr}"
    port = free_port()
    log_path = work / "alertmanager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={config_file}", f"--storage.path={work / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=10.0) as client:
                wait_ready(client, url, process, name="Alertmanager", log_path=log_path,
                           timeout=30)
                yield AlertmanagerServer(url=url, client=client, amtool_path=amtool)
        finally:
            stop(process)
