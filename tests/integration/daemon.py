"""Wait for a real server process (Prometheus, Alertmanager) to be ready; stop it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest


def wait_ready(client: httpx.Client, url: str, process: subprocess.Popen[bytes], *,
               name: str, log_path: Path, timeout: float) -> None:
    """Poll ``/-/ready`` until 200; fail with the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")
            pytest.fail(f"{name} exited with {process.returncode}:\n{log[-3000:]}")
        try:
            if client.get(f"{url}/-/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{name} did not become ready within {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate *process*, killing it when it does not stop within 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
