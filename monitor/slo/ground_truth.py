"""Ground-truth SLIs: join captured predictions to delayed labels and count the matches.

Predictions are JSONL inference records (``{"request_id", "time", "output":
{"probability"}}``, as the model server captures them); labels a JSONL file of
``{"request_id", "label", "time"}``. A prediction made at ``t`` is judged once its label
has had ``label_lag`` to arrive, so the window ``(at - window, at]`` counts the
predictions made in ``(at - lag - window, at - lag]`` whose label had arrived by ``at``.

A numeric prediction is the positive class when it is at least ``threshold``; a label is
positive when it is true, ``1`` or ``"true"``/``"yes"``/``"1"``. Other predictions
(class names) must equal the label. A line that is not JSON, or lacks a field, is
skipped and reported by file and line number; it never stops the count.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.core.errors import WatchkeeperError
from monitor.core.time import to_epoch
from monitor.slo.budget import EventCounts
from monitor.slo.model import GroundTruthSLI

__all__ = ["GroundTruthError", "Joined", "Outcome", "count", "load"]

log = logging.getLogger(__name__)

_MAX_PROBLEMS = 5
_CACHE_SIZE = 32
_TRUE, _FALSE = {"1", "true", "yes", "positive"}, {"0", "false", "no", "negative"}


class GroundTruthError(WatchkeeperError):
    """A predictions or labels file cannot be read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One prediction that has a label: when each was made and whether they agree."""

    predicted_at: float
    labelled_at: float | None
    correct: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Joined:
    """Every labelled prediction, oldest first, and the lines that could not be read."""

    outcomes: tuple[Outcome, ...]
    problems: tuple[str, ...]


_lock = threading.Lock()
_cache: dict[tuple[object, ...], tuple[Joined, list[float]]] = {}


def count(sli: GroundTruthSLI, window: timedelta,
          at: datetime) -> tuple[EventCounts | None, tuple[str, ...]]:
    """Return the good (matching) and all labelled predictions judged in the window.

    Returns
    -------
    tuple
        The counts (``None`` when no labelled prediction falls in the window) and the
        problems found while reading the files (``"labels.jsonl:12: not JSON ..."``).

    Raises
    ------
    GroundTruthError
        If a file cannot be read.
    """
    joined, times = _load_cached(sli)
    end = to_epoch(at) - sli.label_lag.total_seconds()
    lo = bisect.bisect_right(times, end - window.total_seconds())
    hi = bisect.bisect_right(times, end)
    now = to_epoch(at)
    judged = [o for o in joined.outcomes[lo:hi]
              if o.labelled_at is None or o.labelled_at <= now]
    if not judged:
        return None, joined.problems
    good = sum(1 for o in judged if o.correct)
    return EventCounts.from_good(good=float(good), total=float(len(judged))), joined.problems


def load(sli: GroundTruthSLI) -> Joined:
    """Read and join both files of *sli* (cached until either file changes)."""
    return _load_cached(sli)[0]


def _load_cached(sli: GroundTruthSLI) -> tuple[Joined, list[float]]:
    key = (sli, _stat(sli.predictions), _stat(sli.labels))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    joined = _join(sli)
    entry = (joined, [o.predicted_at for o in joined.outcomes])
    with _lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = entry
    return entry


def _stat(path: str) -> tuple[int, int]:
    try:
        st = Path(path).stat()
    except OSError as exc:
        raise GroundTruthError(f"cannot read ground-truth file {path}: {exc.strerror or exc}; "
                       "check the path (relative paths start at the working directory)"
                       ) from exc
    return st.st_mtime_ns, st.st_size


def _join(sli: GroundTruthSLI) -> Joined:
    problems: list[str] = []
    labels: dict[str, tuple[Any, float | None]] = {}
    for where, record in _records(sli.labels, problems):
        key, value = _field(record, sli.join_key), _field(record, sli.label_field)
        if key is None or value is None:
            missing = sli.join_key if key is None else sli.label_field
            problems.append(f"{where}: no {missing!r} field; line skipped")
            continue
        labels[str(key)] = (value, _time(record))
    outcomes: list[Outcome] = []
    for where, record in _records(sli.predictions, problems):
        key, value, moment = (_field(record, sli.join_key),
                              _field(record, sli.prediction_field), _time(record))
        if key is None or value is None or moment is None:
            missing = (sli.join_key if key is None else sli.prediction_field if value is None
                       else "time")
            problems.append(f"{where}: no {missing!r} field; line skipped")
            continue
        label = labels.get(str(key))
        if label is None:
            continue  # not labelled (yet): not judged
        correct = _correct(value, label[0], sli.threshold)
        if correct is None:
            problems.append(f"{where}: cannot compare prediction {value!r} with label "
                            f"{label[0]!r}; line skipped")
            continue
        outcomes.append(Outcome(predicted_at=moment, labelled_at=label[1], correct=correct))
    outcomes.sort(key=lambda o: o.predicted_at)
    if len(problems) > _MAX_PROBLEMS:
        problems[_MAX_PROBLEMS:] = [f"and {len(problems) - _MAX_PROBLEMS} more lines skipped"]
    if problems:
        log.warning("ground truth %s / %s: %s", sli.predictions, sli.labels, problems[0])
    return Joined(outcomes=tuple(outcomes), problems=tuple(problems))


def _records(path: str, problems: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        handle = Path(path).open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise GroundTruthError(f"cannot read ground-truth file {path}: "
                               f"{exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{Path(path).name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON ({exc.msg}); line skipped")
                continue
            if not isinstance(record, dict):
                problems.append(f"{where}: not a JSON object; line skipped")
                continue
            yield where, record


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _time(record: dict[str, Any]) -> float | None:
    raw = record.get("time", record.get("timestamp"))
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
        return float(raw)
    if isinstance(raw, str):
        try:
            return to_epoch(datetime.fromisoformat(raw.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _positive(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value >= 0.5
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _correct(prediction: Any, label: Any, threshold: float) -> bool | None:
    if isinstance(prediction, (int, float)) and not isinstance(prediction, bool):
        actual = _positive(label)
        return None if actual is None else (prediction >= threshold) == actual
    if isinstance(prediction, (list, dict)):
        return None
    return str(prediction) == str(label)
