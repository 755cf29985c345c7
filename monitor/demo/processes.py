"""The demo's helper processes: data and training jobs, the model server, the traffic."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

__all__ = [
    "ModelServerProcess",
    "free_port",
    "read_metrics",
    "run_job",
    "start_traffic",
    "stop_process",
    "wait_until",
]


def free_port() -> int:
    """Return a loopback port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_job(args: list[str], *, cwd: Path, what: str) -> None:
    """Run ``python -m ...`` with an argument list (never a shell); raise on failure."""
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{what} failed (exit {done.returncode}): " + " | ".join(tail))


class ModelServerProcess:
    """The demo model server (``python -m trainers.serve``) in a child process."""

    def __init__(self, *, model: str, versions: dict[str, Path], production: str,
                 capture: Path, cwd: Path, log: Path) -> None:
        args = [sys.executable, "-m", "trainers.serve", "--model", model, "--production",
                production, "--port", "0", "--capture", str(capture)]
        for name, path in versions.items():
            args += ["--version", f"{name}={path}"]
        self._log = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().strip()
        if not first.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"model server did not start: {first or 'no output'}; "
                               f"see {log}")
        self.url = first.removeprefix("listening on ").rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])

    def set_fault(self, version: str, error_rate: float) -> None:
        """Make *version* fail a share of requests."""
        response = httpx.post(f"{self.url}/admin/fault",
                              json={"version": version, "error_rate": error_rate}, timeout=5)
        response.raise_for_status()

    def serving(self) -> str:
        """Return the version now serving."""
        state = httpx.get(f"{self.url}/admin/state", timeout=5).json()
        return str(state["production"])

    def stop(self) -> None:
        """Stop the server."""
        stop_process(self.proc)
        self._log.close()


def start_traffic(url: str, *, rps: float, duration: float, cwd: Path,
                  log: Path) -> subprocess.Popen[bytes]:
    """Start the traffic generator against *url*."""
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "trainers.traffic", "--url", url, "--rps", str(rps),
             "--duration", str(duration)], cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def stop_process(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Terminate a child process, killing it if it will not stop."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def read_metrics(path: Path) -> dict[str, float]:
    """Return the numeric entries of a trainer's metrics.json."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in raw.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll *check* until it returns true or *timeout* passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
