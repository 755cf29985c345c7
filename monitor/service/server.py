"""Run the whole service: migrate, start the schedule, serve the API until told to stop."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from monitor.service.api import create_app
from monitor.service.assembly import Watchkeeper
from monitor.service.loop import Loop
from monitor.service.scheduler import Schedule

__all__ = ["Server"]

log = logging.getLogger(__name__)


class Server:
    """The service process: one loop, its schedule and its HTTP API."""

    def __init__(self, app: Watchkeeper, *, schedule: bool = True) -> None:
        self.app = app
        self.loop = Loop(app)
        self.schedule = Schedule(self.loop) if schedule else None
        config = uvicorn.Config(create_app(self.loop), host=app.config.listen_host,
                                port=app.config.listen_port, log_level="warning",
                                access_log=False, lifespan="off")
        self._http = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Migrate the database, start the schedule and serve the API in a thread."""
        self.app.db.upgrade()
        if self.schedule:
            self.schedule.start()
        self._thread = threading.Thread(target=self._http.run, name="watchkeeper-http",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._http.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"could not listen on {self.app.config.listen_host}:"
                    f"{self.app.config.listen_port}; is the port in use? "
                    "change `listen:` in watchkeeper.yaml")
            time.sleep(0.05)
        log.info("serving on %s", self.app.base_url)

    def request_stop(self) -> None:
        """Ask the HTTP server to stop; :meth:`wait` then returns (safe from a signal handler)."""
        self._http.should_exit = True

    def wait(self) -> None:
        """Block until the HTTP server stops (Ctrl-C or SIGTERM)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving and the schedule; close the database."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(10)
        if self.schedule:
            self.schedule.stop()
        self.app.close()
