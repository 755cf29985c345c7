"""The silences API under /api/v1/silences, in Alertmanager's API v2 shapes.

``POST`` takes Alertmanager's postable silence (``matchers`` of ``name, value, isRegex,
isEqual``; ``startsAt``, ``endsAt``, ``createdBy``, ``comment``) and answers
``{"silenceID": ...}``; ``GET`` answers Alertmanager's gettable silences (with ``id``,
``updatedAt`` and ``status.state``) inside this API's ``{"status", "data"}`` envelope;
``DELETE`` expires a silence. A bad body gets a 400 whose ``detail`` starts with the
field at fault, and nothing is stored.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from monitor.alerting.silences import (
    Silence,
    SilenceError,
    SilenceState,
    UnknownSilenceError,
    new_silence,
    parse_time,
)
from monitor.core.matchers import Matcher
from monitor.core.time import Clock
from monitor.service.loop import Loop
from monitor.store.silences import SilenceStore, matcher_from_api, matcher_to_api

__all__ = ["parse_silence_states", "register", "rfc3339", "silence_from_api", "silence_to_api"]

_FIELDS = ("matchers", "startsAt", "endsAt", "createdBy", "comment")
_IGNORED = ("id", "status", "updatedAt")  # present when a gettable silence is posted back
_MATCHER_FIELDS = ("name", "value", "isRegex", "isEqual")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def rfc3339(moment: datetime) -> str:
    """Return *moment* as Alertmanager writes times: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def silence_to_api(silence: Silence, now: datetime) -> dict[str, Any]:
    """Return *silence* as Alertmanager's gettable silence, its state taken at *now*."""
    return {
        "id": silence.id,
        "matchers": [matcher_to_api(m) for m in silence.matchers],
        "startsAt": rfc3339(silence.starts_at),
        "endsAt": rfc3339(silence.ends_at),
        "updatedAt": rfc3339(silence.updated_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "status": {"state": silence.state(now).value},
    }


def parse_silence_states(text: str | None) -> list[SilenceState] | None:
    """Parse ``active`` or ``active,pending``; raise ``SilenceError`` naming a bad state."""
    if not text:
        return None
    states = []
    for part in text.split(","):
        try:
            states.append(SilenceState(part.strip()))
        except ValueError as exc:
            raise SilenceError(f"state: {part.strip()!r} is not a silence state; use "
                               + ", ".join(s.value for s in SilenceState)) from exc
    return states


def _unknown_keys(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f'did you mean "{close[0]}"?' if close else "known: " + ", ".join(allowed)
            raise SilenceError(f"{where}{key}: unknown field; {hint}")


def _text(data: dict[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if value is None:
        raise SilenceError(f"{where}{key}: missing")
    if not isinstance(value, str):
        raise SilenceError(f"{where}{key}: expected a string, got {json.dumps(value)}")
    return value


def _flag(data: dict[str, Any], key: str, where: str, default: bool | None) -> bool:
    value = data.get(key, default)
    if value is None:
        raise SilenceError(f"{where}{key}: missing; give true or false")
    if not isinstance(value, bool):
        raise SilenceError(f"{where}{key}: expected true or false, got {json.dumps(value)}")
    return value


def _matcher(item: object, index: int) -> Matcher:
    where = f"matchers[{index}]."
    if not isinstance(item, dict):
        raise SilenceError(f"matchers[{index}]: expected an object with name, value, "
                           f"isRegex and isEqual, got {json.dumps(item)}")
    _unknown_keys(item, _MATCHER_FIELDS, where)
    name, value = _text(item, "name", where), _text(item, "value", where)
    if not _LABEL_NAME.fullmatch(name):
        raise SilenceError(f"{where}name: {name!r} is not a label name; use letters, digits "
                           "and underscores, not starting with a digit")
    is_regex = _flag(item, "isRegex", where, None)
    is_equal = _flag(item, "isEqual", where, True)  # Alertmanager's default
    try:
        return matcher_from_api(name, value, is_regex=is_regex, is_equal=is_equal)
    except ValueError as exc:
        raise SilenceError(f"{where}value: {exc}") from exc


def silence_from_api(data: object, now: datetime) -> Silence:
    """Check Alertmanager's postable silence *data* and return the new silence.

    Raise ``SilenceError`` whose message starts with the field at fault, e.g.
    ``matchers[0].isRegex: expected true or false, got "yes"``.
    """
    if not isinstance(data, dict):
        raise SilenceError("body: expected a JSON object with " + ", ".join(_FIELDS))
    _unknown_keys(data, _FIELDS + _IGNORED, "")
    if data.get("id"):
        raise SilenceError("id: updating a silence is not supported; expire it with "
                           "DELETE /api/v1/silences/ID and post a new one")
    raw = data.get("matchers")
    if not isinstance(raw, list) or not raw:
        raise SilenceError("matchers: expected a non-empty list of {name, value, isRegex, "
                           f"isEqual}}, got {json.dumps(raw)}")
    matchers = [_matcher(item, i) for i, item in enumerate(raw)]
    starts_at = parse_time(_text(data, "startsAt"), "startsAt")
    ends_at = parse_time(_text(data, "endsAt"), "endsAt")
    return new_silence(matchers=matchers, created_by=_text(data, "createdBy"),
                       comment=_text(data, "comment"), now=now, starts_at=starts_at,
                       ends_at=ends_at)


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise HTTPException(400, f"body: not valid JSON: {exc}") from exc


def register(app: FastAPI, loop: Loop) -> None:
    """Add the silences routes to *app*, over the loop's database and clock."""
    store = SilenceStore(loop.app.db)
    clock: Clock = loop.app.clock

    @app.get("/api/v1/silences")
    def list_silences(state: str | None = Query(default=None)) -> dict[str, Any]:
        try:
            states = parse_silence_states(state)
        except SilenceError as exc:
            raise HTTPException(400, str(exc)) from exc
        now = clock.now()
        data = [silence_to_api(s, now) for s in store.list(now)
                if states is None or s.state(now) in states]
        return {"status": "success", "data": data}

    @app.post("/api/v1/silences")
    async def post_silence(request: Request) -> dict[str, Any]:
        data = await _json_body(request)
        try:
            silence = silence_from_api(data, clock.now())
            await run_in_threadpool(store.add, silence)
        except SilenceError as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"silenceID": silence.id}

    @app.get("/api/v1/silences/{silence_id}")
    def get_silence(silence_id: str) -> dict[str, Any]:
        silence = store.get(silence_id)
        if silence is None:
            raise HTTPException(404, f"no silence with id {silence_id!r}")
        return {"status": "success", "data": silence_to_api(silence, clock.now())}

    @app.delete("/api/v1/silences/{silence_id}")
    def expire_silence(silence_id: str) -> dict[str, Any]:
        now = clock.now()
        try:
            silence = store.expire(silence_id, now)
        except UnknownSilenceError as exc:
            raise HTTPException(404, str(exc)) from exc
        except SilenceError as exc:
            raise HTTPException(409, str(exc)) from exc
        return {"status": "success", "data": silence_to_api(silence, now)}
