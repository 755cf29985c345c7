"""Real Alertmanager for the benchmark: start it on a loopback port, push alerts, stop it.

The server is Debian's ``prometheus-alertmanager`` (upstream names it ``alertmanager``);
it runs in a temporary folder without gossip (``--cluster.listen-address=``), so its
notification pipeline waits for no peer. A missing binary is an error that says how to
install it: the benchmark exists to compare with it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from monitor.demo.processes import free_port

__all__ = ["PROMETHEUS_BATCH", "AlertmanagerError", "AlertmanagerServer", "find_alertmanager",
           "running_alertmanager"]

PROMETHEUS_BATCH = 64  # Prometheus' notifier sends at most 64 alerts per request (maxBatchSize)
_BINARIES = ("alertmanager", "prometheus-alertmanager")
_INSTALL = ("apt-get install prometheus-alertmanager (or tests/install-components.sh); "
            "the benchmark compares Watchkeeper with it and does not run without it")


class AlertmanagerError(RuntimeError):
    """Alertmanager is missing, did not start, or refused alerts."""


def find_alertmanager() -> str:
    """Return the path of the Alertmanager server binary, or raise saying how to install it."""
    for name in _BINARIES:
        path = shutil.which(name)
        if path:
            return path
    raise AlertmanagerError(f"{' or '.join(_BINARIES)} is not installed: {_INSTALL}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerServer:
    """A running Alertmanager: its URL, a keep-alive client and its version."""

    url: str
    client: httpx.Client
    version: str

    def push(self, alerts: Sequence[Mapping[str, object]]) -> None:
        """POST *alerts* to ``/api/v2/alerts`` in one request, as Prometheus does."""
        response = self.client.post(f"{self.url}/api/v2/alerts", json=list(alerts))
        if response.status_code != 200:
            raise AlertmanagerError(f"POST {self.url}/api/v2/alerts: HTTP "
                                    f"{response.status_code}: {response.text[:300]}")


def _version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,
                          check=False)
    words = (done.stdout or done.stderr).split()
    return words[2] if len(words) > 2 and words[1] == "version" else "unknown"


def _wait_ready(client: httpx.Client, url: str, process: subprocess.Popen[bytes],
                log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")[-2000:]
            raise AlertmanagerError(f"Alertmanager exited with {process.returncode}:\n{log}")
        try:
            if client.get(f"{url}/-/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AlertmanagerError(f"Alertmanager did not become ready within {timeout:.0f}s")


@contextmanager
def running_alertmanager(work: Path, config: str) -> Iterator[AlertmanagerServer]:
    """Run Alertmanager with *config* (``alertmanager.yml`` text) until the block ends."""
    binary = find_alertmanager()
    work.mkdir(parents=True, exist_ok=True)
    config_file = work / "alertmanager.yml"
    config_file.write_text(config, encoding="utf-8")
    port = free_port()
    log_path = work / "alertmanager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={config_file}", f"--storage.path={work / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=30.0) as client:
                _wait_ready(client, url, process, log_path, timeout=30)
                yield AlertmanagerServer(url=url, client=client, version=_version(binary))
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
