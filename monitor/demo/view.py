"""How the demo shows itself: event lines when headless, a live terminal view otherwise."""

from __future__ import annotations

from typing import Protocol, TextIO

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from monitor.core.time import utcnow
from monitor.demo.events import DemoEvent, Progress

__all__ = ["HeadlessView", "LiveView", "View"]


class View(Protocol):
    """Where demo output goes."""

    events: list[DemoEvent]

    def note(self, text: str) -> None: ...
    def event(self, event: DemoEvent) -> None: ...
    def update(self, burn: list[tuple[str, str, float | None]], progress: Progress) -> None: ...
    def finish(self, ok: bool, progress: Progress, seconds: float) -> None: ...
    def close(self) -> None: ...


class HeadlessView:
    """Print each event as one line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.events: list[DemoEvent] = []
        self._last_burn = ""

    def _line(self, kind: str, text: str) -> None:
        self.stream.write(f"{utcnow():%H:%M:%S} {kind:8} {text}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """Print a progress note."""
        self._line("demo", text)

    def event(self, event: DemoEvent) -> None:
        """Print one event."""
        self.events.append(event)
        self._line(event.kind, event.text)

    def update(self, burn: list[tuple[str, str, float | None]], progress: Progress) -> None:
        """Print the burn rates when they change noticeably."""
        text = ", ".join(f"{w} {r:.1f}x" for _, w, r in burn if r is not None)
        rounded = ", ".join(f"{w} {round(r)}x" for _, w, r in burn if r is not None)
        if text and rounded != self._last_burn:
            self._last_burn = rounded
            self._line("burn", text)

    def finish(self, ok: bool, progress: Progress, seconds: float) -> None:
        """Print the outcome."""
        if ok:
            self._line("demo", f"loop completed in {seconds:.0f}s: "
                       + " -> ".join(progress.order))
        else:
            self._line("demo", "loop did not complete; missing: "
                       + ", ".join(progress.missing()))

    def close(self) -> None:
        """Nothing to release."""


class LiveView:
    """A live terminal view: burn rates, loop progress and the event log."""

    def __init__(self) -> None:
        self.events: list[DemoEvent] = []
        self._notes: list[str] = []
        self._burn: list[tuple[str, str, float | None]] = []
        self._progress = Progress()
        self._live = Live(self._render(), refresh_per_second=4, transient=False)
        self._live.start()

    def _render(self) -> Group:
        burn = Table("SLO", "window", "burn rate", title="Error-budget burn", box=None)
        for slo, window, rate in self._burn:
            style = "bold red" if rate is not None and rate >= 14.4 else "green"
            burn.add_row(slo, window, Text("-" if rate is None else f"{rate:.1f}x",
                                           style=style))
        steps = Text("  ".join(
            f"[{'x' if getattr(self._progress, s) else ' '}] {s.replace('_', ' ')}"
            for s in ("fired", "notified", "rolled_back", "alias_moved", "resolved")))
        log = Text("\n".join([*self._notes[-4:], *(
            f"{e.at:%H:%M:%S} {e.kind:8} {e.text}" for e in self.events[-12:])]))
        return Group(burn, Text(""), steps, Text(""), log)

    def note(self, text: str) -> None:
        """Show a progress note."""
        self._notes.append(f"{utcnow():%H:%M:%S} demo     {text}")
        self._live.update(self._render())

    def event(self, event: DemoEvent) -> None:
        """Add an event to the log."""
        self.events.append(event)
        self._live.update(self._render())

    def update(self, burn: list[tuple[str, str, float | None]], progress: Progress) -> None:
        """Refresh the burn rates and progress."""
        self._burn, self._progress = burn, progress
        self._live.update(self._render())

    def finish(self, ok: bool, progress: Progress, seconds: float) -> None:
        """Show the outcome."""
        self.note(f"loop completed in {seconds:.0f}s" if ok else
                  "loop did not complete; missing: " + ", ".join(progress.missing()))

    def close(self) -> None:
        """Stop refreshing the terminal."""
        self._live.stop()
