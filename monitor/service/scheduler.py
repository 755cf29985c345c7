"""The schedule: APScheduler runs each loop step in its own thread at its interval."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.service.loop import Loop

__all__ = ["Schedule"]

log = logging.getLogger(__name__)


class Schedule:
    """Run scrape, evaluation, delivery, remediation and retention on their intervals."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self._scheduler = BackgroundScheduler(timezone="UTC")
        iv = loop.app.config.intervals
        # Targets have their own intervals; tick at the finest so none is late.
        finest = min([iv.scrape, *(t.interval for t in loop.app.config.targets)])
        jobs = (
            ("scrape", loop.scrape, finest),
            ("evaluate", loop.evaluate, iv.evaluation),
            ("deliver", loop.deliver, iv.delivery),
            ("remediate", loop.remediate, iv.remediation),
            ("retain", loop.retain, timedelta(hours=1)),
        )
        for name, step, every in jobs:
            self._scheduler.add_job(step, "interval", seconds=every.total_seconds(), id=name,
                                    max_instances=1, coalesce=True,
                                    misfire_grace_time=max(1, int(every.total_seconds())),
                                    next_run_time=datetime.now(UTC))

    def start(self) -> None:
        """Start every job; the first runs right away."""
        self._scheduler.start()
        log.info("schedule started: %s", ", ".join(j.id for j in self._scheduler.get_jobs()))

    def stop(self) -> None:
        """Stop the schedule and wait for running steps to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
