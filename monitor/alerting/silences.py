"""Silences as Alertmanager has them: build one from user input, and ask what mutes an alert.

A silence mutes every alert whose labels all its matchers match (``alertname`` is a label
like any other) while it is active: from ``startsAt`` (included) to ``endsAt``
(excluded). Matchers are Prometheus' four: ``=``, ``!=``, ``=~`` and ``!~``; regular
expressions are anchored at both ends, and a label the alert lacks matches as the empty
string, so ``team!="ml"`` mutes alerts without a ``team`` label, and ``team=~".*"``
matches them too.

Examples
--------
>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> silence = new_silence(
...     matchers=parse_silence_matchers(["alertname=ModelLatencyHigh", 'model=~"churn|fraud"']),
...     created_by="alice", comment="deploying v2", now=now, duration=timedelta(hours=2),
...     silence_id="00000000-0000-4000-8000-000000000001")
>>> silence.matches({"alertname": "ModelLatencyHigh", "model": "churn"})
True
>>> silence.matches({"alertname": "ModelLatencyHigh", "model": "churnx"})
False
>>> silence.state(now + timedelta(hours=2))
<SilenceState.EXPIRED: 'expired'>
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from monitor.config.durations import fmt_duration
from monitor.core.matchers import Matcher, MatchOp, parse_matchers
from monitor.core.time import Clock
from monitor.store.silences import (
    Silence,
    SilenceError,
    SilenceState,
    SilenceStore,
    UnknownSilenceError,
)

__all__ = [
    "DEFAULT_DURATION",
    "Silence",
    "SilenceError",
    "SilenceState",
    "Silencer",
    "UnknownSilenceError",
    "first_silence",
    "new_silence",
    "parse_silence_matchers",
    "parse_time",
]

#: How long a silence lasts when neither an end nor a duration is given (amtool's default).
DEFAULT_DURATION = timedelta(hours=1)

_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*", re.S)
_BARE_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_HINT = ('write name=value, name!=value, name=~regex or name!~regex, e.g. '
         'alertname=ModelLatencyHigh or severity=~"page|ticket"')


def _value(raw: str, text: str) -> str:
    if not raw.startswith('"'):
        if '"' in raw:
            raise SilenceError(f"matcher {text!r}: unbalanced quote in the value; {_HINT}")
        return raw
    if len(raw) < 2 or not raw.endswith('"') or re.fullmatch(r'"(?:[^"\\]|\\.)*"', raw) is None:
        raise SilenceError(f"matcher {text!r}: unbalanced quote in the value; {_HINT}")
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _parse_one(text: str, first: bool) -> tuple[Matcher, ...]:
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            return parse_matchers(stripped[1:-1])
        except ValueError as exc:
            raise SilenceError(f"matcher {text!r}: {exc}") from exc
    match = _MATCHER.fullmatch(text)
    if match is None:
        if first and _BARE_NAME.fullmatch(stripped):  # amtool: a bare first word is alertname
            return (Matcher(name="alertname", op=MatchOp.EQ, value=stripped),)
        raise SilenceError(f"matcher {text!r}: not a label matcher; {_HINT}")
    name, op, raw = match.groups()
    try:
        return (Matcher(name=name, op=MatchOp(op), value=_value(raw, text)),)
    except ValueError as exc:
        if isinstance(exc, SilenceError):
            raise
        raise SilenceError(f"matcher {text!r}: {exc}") from exc


def parse_silence_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    """Parse amtool-style matchers: ``alertname=Foo``, ``severity=~"page|ticket"``, ``a!="x"``.

    A value may be quoted (``\\"`` and ``\\\\`` escape inside the quotes) or bare; a bare
    first word is taken as the alert name, as amtool does; ``{a="b", c=~"d"}`` gives several
    matchers at once. Raise ``SilenceError`` naming the text that is wrong.

    >>> [str(m) for m in parse_silence_matchers(["Foo", 'severity=~"page|ticket"'])]
    ['alertname="Foo"', 'severity=~"page|ticket"']
    """
    if not texts:
        raise SilenceError(f"matchers: give at least one matcher; {_HINT}")
    out: list[Matcher] = []
    for i, text in enumerate(texts):
        out.extend(_parse_one(text, first=i == 0))
    return tuple(out)


def parse_time(text: str, field: str) -> datetime:
    """Parse an RFC 3339 time such as ``2026-01-01T09:00:00Z``; errors name *field*."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise SilenceError(f"{field}: {text!r} is not an RFC 3339 time; write e.g. "
                           "2026-01-01T09:00:00Z") from exc
    if moment.tzinfo is None:
        raise SilenceError(f"{field}: {text!r} has no time zone; add Z for UTC or an offset, "
                           "e.g. 2026-01-01T09:00:00Z or 2026-01-01T10:00:00+01:00")
    return moment.astimezone(UTC)


def _end(start: datetime, ends_at: datetime | None, duration: timedelta | None) -> datetime:
    if ends_at is not None and duration is not None:
        raise SilenceError("endsAt: give an end time or a duration, not both")
    if ends_at is not None:
        return ends_at
    if duration is not None and duration <= timedelta(0):
        raise SilenceError(f"duration: {fmt_duration(duration)} is not positive; give how "
                           "long the silence lasts, e.g. 2h")
    return start + (duration if duration is not None else DEFAULT_DURATION)


def new_silence(*, matchers: Sequence[Matcher], created_by: str, comment: str, now: datetime,
                starts_at: datetime | None = None, ends_at: datetime | None = None,
                duration: timedelta | None = None, silence_id: str | None = None) -> Silence:
    """Build a new silence from user input, checked as Alertmanager checks a posted one.

    Parameters
    ----------
    matchers
        Label matchers; at least one must not match the empty string.
    created_by, comment
        Who silences, and why; neither may be blank.
    now
        The current time.
    starts_at
        When the silence starts; *now* when not given, and moved up to *now* when in
        the past (Alertmanager does the same).
    ends_at, duration
        When it ends, or how long after its start; at most one of them. Without either
        it lasts :data:`DEFAULT_DURATION`.
    silence_id
        The id; a new random UUID when not given.

    Raises
    ------
    SilenceError
        With a message that starts with the field at fault: ``endsAt`` not after
        ``startsAt`` or in the past, a non-positive ``duration``, ``matchers``,
        ``createdBy`` or ``comment``.
    """
    start = starts_at if starts_at is not None else now
    end = _end(start, ends_at, duration)
    if end <= start:
        raise SilenceError(f"endsAt: {end.isoformat()} is not after startsAt "
                           f"{start.isoformat()}; end the silence after it starts")
    if end <= now:
        raise SilenceError(f"endsAt: {end.isoformat()} is in the past (now is "
                           f"{now.isoformat()}); a new silence must end in the future")
    return Silence(id=silence_id or str(uuid.uuid4()), matchers=tuple(matchers),
                   starts_at=max(start, now), ends_at=end, created_by=created_by,
                   comment=comment, updated_at=now)


def first_silence(silences: Iterable[Silence], labels: Mapping[str, str],
                  at: datetime) -> Silence | None:
    """Return the first of *silences* that is active at *at* and matches *labels*, or None."""
    for silence in silences:
        if silence.is_active(at) and silence.matches(labels):
            return silence
    return None


class Silencer:
    """Tell whether an alert is muted, from the silences in the store."""

    def __init__(self, store: SilenceStore, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def silenced_by(self, labels: Mapping[str, str],
                    at: datetime | None = None) -> Silence | None:
        """Return a silence muting an alert with *labels* at *at* (default: now), or None.

        For a past *at* the answer is the silences as they are stored now, with their
        ``endsAt`` moved to when they were expired; silences removed by
        :meth:`SilenceStore.delete_expired_before` are forgotten.
        """
        moment = at if at is not None else self.clock.now()
        return first_silence(self.store.active(moment), labels, moment)

    def history(self, start: datetime, end: datetime) -> list[Silence]:
        """Return the silences active at some moment from *start* to *end*."""
        return self.store.overlapping(start, end)
