"""The silence store on both databases: add, get, states and their order, expire, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.matchers import Matcher, MatchOp
from monitor.store import Database
from monitor.store.silences import (
    Silence,
    SilenceError,
    SilenceState,
    SilenceStore,
    UnknownSilenceError,
    matcher_from_api,
    matcher_to_api,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
EVERY_OP = (
    Matcher(name="alertname", op=MatchOp.EQ, value="ModelLatencyHigh"),
    Matcher(name="model", op=MatchOp.NE, value="fraud"),
    Matcher(name="severity", op=MatchOp.RE, value="page|ticket"),
    Matcher(name="team", op=MatchOp.NRE, value='ml-"core"\\d+'),
)


def _silence(silence_id: str, starts_at: datetime, ends_at: datetime,
             matchers: tuple[Matcher, ...] = EVERY_OP) -> Silence:
    return Silence(id=silence_id, matchers=matchers, starts_at=starts_at, ends_at=ends_at,
                   created_by="alice", comment="deploying v2", updated_at=T0)


def test_a_silence_round_trips_with_every_matcher_op(database: Database) -> None:
    store = SilenceStore(database)
    silence = _silence("3f1c2a9e-0000-4000-8000-000000000001", T0,
                       T0 + timedelta(hours=2, microseconds=123457))
    assert store.add(silence) == silence
    assert store.get(silence.id) == silence
    assert store.get("3f1c2a9e-0000-4000-8000-00000000ffff") is None
    assert store.get("not-a-uuid") is None


def test_matchers_convert_to_and_from_alertmanager_fields() -> None:
    assert [matcher_to_api(m) for m in EVERY_OP] == [
        {"name": "alertname", "value": "ModelLatencyHigh", "isRegex": False, "isEqual": True},
        {"name": "model", "value": "fraud", "isRegex": False, "isEqual": False},
        {"name": "severity", "value": "page|ticket", "isRegex": True, "isEqual": True},
        {"name": "team", "value": 'ml-"core"\\d+', "isRegex": True, "isEqual": False},
    ]
    back = [matcher_from_api(m.name, m.value, is_regex=f["isRegex"], is_equal=f["isEqual"])
            for m, f in zip(EVERY_OP, map(matcher_to_api, EVERY_OP), strict=True)]
    assert back == list(EVERY_OP)


def test_adding_an_id_twice_is_refused_and_keeps_the_first(database: Database) -> None:
    store = SilenceStore(database)
    first = store.add(_silence("a", T0, T0 + H))
    with pytest.raises(SilenceError, match="^silence a already exists; expire it and add a "
                                           "new one to change it$"):
        store.add(_silence("a", T0, T0 + 2 * H))
    assert store.list(T0) == [first]


def test_states_follow_alertmanager_boundaries(database: Database) -> None:
    store = SilenceStore(database)
    store.add(_silence("s", T0, T0 + H))
    assert store.list(T0 - timedelta(seconds=1), "pending")[0].id == "s"
    assert [s.id for s in store.active(T0)] == ["s"]  # startsAt included
    assert store.active(T0 + H - timedelta(milliseconds=1))
    assert store.active(T0 + H) == []  # endsAt excluded
    assert [s.id for s in store.list(T0 + H, SilenceState.EXPIRED)] == ["s"]
    assert store.list(T0 + H, "pending") == []


def test_list_orders_active_then_pending_then_expired(database: Database) -> None:
    store = SilenceStore(database)
    for silence_id, start, end in [
        ("expired-long-ago", T0 - 5 * H, T0 - 4 * H), ("active-ends-late", T0 - H, T0 + 3 * H),
        ("pending-late", T0 + 2 * H, T0 + 3 * H), ("expired-recently", T0 - 2 * H, T0 - H),
        ("active-ends-soon", T0 - H, T0 + H), ("pending-soon", T0 + H, T0 + 5 * H),
    ]:
        store.add(_silence(silence_id, start, end))
    assert [s.id for s in store.list(T0)] == [
        "active-ends-soon", "active-ends-late", "pending-soon", "pending-late",
        "expired-recently", "expired-long-ago"]
    assert [s.id for s in store.list(T0, "active")] == ["active-ends-soon", "active-ends-late"]
    assert [s.id for s in store.list(T0, "pending")] == ["pending-soon", "pending-late"]
    assert [s.id for s in store.list(T0, "expired")] == ["expired-recently", "expired-long-ago"]
    with pytest.raises(ValueError, match="'muted' is not a valid SilenceState"):
        store.list(T0, "muted")


def test_expire_ends_an_active_silence_now(database: Database) -> None:
    store = SilenceStore(database)
    store.add(_silence("s", T0 - H, T0 + H))
    now = T0 + timedelta(minutes=7)
    expired = store.expire("s", now)
    assert (expired.starts_at, expired.ends_at, expired.updated_at) == (T0 - H, now, now)
    assert store.get("s") == expired
    assert expired.state(now) is SilenceState.EXPIRED
    assert store.active(now) == []


def test_expire_makes_a_pending_silence_never_start(database: Database) -> None:
    store = SilenceStore(database)
    store.add(_silence("s", T0 + H, T0 + 2 * H))
    expired = store.expire("s", T0)
    assert (expired.starts_at, expired.ends_at) == (T0, T0)
    assert store.overlapping(T0 - H, T0 + 3 * H) == []
    assert [s.id for s in store.list(T0 + 90 * timedelta(minutes=1), "expired")] == ["s"]


def test_expire_refuses_unknown_and_expired_silences(database: Database) -> None:
    store = SilenceStore(database)
    with pytest.raises(UnknownSilenceError, match="^no silence with id 'nope'; list them "
                                                  "with: watchkeeper silences list$"):
        store.expire("nope", T0)
    store.add(_silence("s", T0 - 2 * H, T0 - H))
    with pytest.raises(SilenceError, match=r"^silence s already expired at "
                                           r"2026-03-01T11:00:00\+00:00$"):
        store.expire("s", T0)
    assert store.get("s") == _silence("s", T0 - 2 * H, T0 - H)


def test_overlapping_finds_silences_active_at_some_moment(database: Database) -> None:
    store = SilenceStore(database)
    store.add(_silence("before", T0 - 3 * H, T0 - H))
    store.add(_silence("touching-end", T0 - 2 * H, T0))
    store.add(_silence("inside", T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)))
    store.add(_silence("at-end", T0 + H, T0 + 2 * H))
    store.add(_silence("after", T0 + H + timedelta(seconds=1), T0 + 2 * H))
    assert [s.id for s in store.overlapping(T0, T0 + H)] == ["inside", "at-end"]


def test_delete_expired_before_keeps_the_rest(database: Database) -> None:
    store = SilenceStore(database)
    store.add(_silence("old", T0 - 10 * H, T0 - 5 * H))
    store.add(_silence("recent", T0 - 2 * H, T0 - H))
    store.add(_silence("active", T0 - H, T0 + H))
    assert store.delete_expired_before(T0 - 3 * H) == 1
    assert sorted(s.id for s in store.list(T0)) == ["active", "recent"]
    assert store.delete_expired_before(T0 - 3 * H) == 0
