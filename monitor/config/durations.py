"""Prometheus-style durations: ``30s``, ``5m``, ``1h30m``, ``28d``, ``1w``.

Examples
--------
>>> parse_duration("1h30m")
datetime.timedelta(seconds=5400)
>>> fmt_duration(parse_duration("90m"))
'1h30m'
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["fmt_duration", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``5m`` or ``1h30m``; raise ``ValueError`` naming the text."""
    text = text.strip()
    pos, seconds = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(
            f"invalid duration {text!r}; use a number and a unit (ms, s, m, h, d, w, y), "
            "e.g. 30s, 5m, 1h30m, 28d"
        )
    return timedelta(seconds=seconds)


def fmt_duration(value: timedelta) -> str:
    """Format a duration the way Prometheus writes it (``1h30m``, ``28d``, ``0s``)."""
    ms = round(value.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    out = []
    for unit, size in (("w", 604800000), ("d", 86400000), ("h", 3600000), ("m", 60000),
                       ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return sign + "".join(out)
