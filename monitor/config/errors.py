"""Source locations and configuration errors that say exactly where they are."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigErrors", "SourceLocation", "WatchkeeperError"]


class WatchkeeperError(Exception):
    """Root of every error Watchkeeper raises on purpose."""


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A 1-based position in a file; ``line`` and ``col`` are 0 when unknown."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.col}"
        return self.path


class ConfigError(WatchkeeperError):
    """One problem in one file, formatted as ``path:line:col: context: key: problem; hint``."""

    def __init__(
        self, where: SourceLocation, key: str, problem: str, hint: str = "", context: str = ""
    ) -> None:
        self.where, self.key, self.problem, self.hint, self.context = (
            where, key, problem, hint, context
        )
        parts = [str(where)]
        if context:
            parts.append(context)
        if key:
            parts.append(key)
        text = ": ".join(parts) + f": {problem}"
        super().__init__(text + (f"; {hint}" if hint else ""))


class ConfigErrors(WatchkeeperError):
    """Every problem found while loading; nothing is loaded when there is one."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = sorted(errors, key=_order)
        files = {e.where.path for e in self.errors}
        n, nf = len(self.errors), len(files)
        summary = (
            f"{n} problem{'s' if n != 1 else ''} in {nf} file{'s' if nf != 1 else ''}; "
            "nothing was loaded."
        )
        self.summary = summary
        super().__init__("\n".join([*(str(e) for e in self.errors), summary]))

    @classmethod
    def raise_if_any(cls, errors: Iterable[ConfigError]) -> None:
        """Raise the collected problems, if there are any."""
        found = list(errors)
        if found:
            raise cls(found)


def _order(error: ConfigError) -> tuple[str, int, int]:
    return (error.where.path, error.where.line, error.where.col)
