"""Silences: amtool matcher forms, matching semantics, validation, and muted routing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting.routing import Route, Router
from monitor.alerting.silences import (
    DEFAULT_DURATION,
    Silence,
    SilenceError,
    Silencer,
    new_silence,
    parse_silence_matchers,
    parse_time,
)
from monitor.alerting.state import AlertStateMachine, Transition
from monitor.core.matchers import Matcher, MatchOp
from monitor.core.model import AlertState, Labels, NotificationStatus, Signal
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.alerts import AlertStore
from monitor.store.outbox import OutboxStore
from monitor.store.silences import SilenceStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
ID = "00000000-0000-4000-8000-000000000001"


def _silence(*texts: str, start: datetime = T0, end: datetime = T0 + DEFAULT_DURATION,
             silence_id: str = ID) -> Silence:
    return new_silence(matchers=parse_silence_matchers(texts), created_by="alice",
                       comment="deploying v2", now=start, ends_at=end, silence_id=silence_id)


# -- matchers -----------------------------------------------------------------------------
def test_parses_amtool_matcher_forms() -> None:
    parsed = parse_silence_matchers([
        "ModelLatencyHigh", 'severity=~"page|ticket"', 'model!="x"', "team!~ml.*",
        'summary="p99 \\"slow\\" here"', "  region = eu-west-1 ", "empty=", "{a=\"1\", b!~\"2\"}",
    ])
    assert [str(m) for m in parsed] == [
        'alertname="ModelLatencyHigh"', 'severity=~"page|ticket"', 'model!="x"',
        'team!~"ml.*"', 'summary="p99 \\"slow\\" here"', 'region="eu-west-1"', 'empty=""',
        'a="1"', 'b!~"2"']
    assert parsed[4].value == 'p99 "slow" here'


@pytest.mark.parametrize(("texts", "message"), [
    ([], 'matchers: give at least one matcher; write name=value, name!=value, name=~regex or '
         'name!~regex, e.g. alertname=ModelLatencyHigh or severity=~"page|ticket"'),
    (["alertname=A", "churn"], "matcher 'churn': not a label matcher; write name=value, "),
    (["9lives=x"], "matcher '9lives=x': not a label matcher; "),
    (['model="churn'], "matcher 'model=\"churn': unbalanced quote in the value; "),
    (['model=ch"urn'], "matcher 'model=ch\"urn': unbalanced quote in the value; "),
    (["model=~(churn"], "matcher 'model=~(churn': label model: invalid regular expression "
                        "'(churn': missing ), unterminated subpattern at position 0"),
    (["{model=churn}"], "matcher '{model=churn}': invalid label matcher at character 1 of "
                        "'model=churn'"),
])
def test_bad_matchers_are_refused_naming_the_text(texts: list[str], message: str) -> None:
    with pytest.raises(SilenceError) as caught:
        parse_silence_matchers(texts)
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize(("matcher", "labels", "expected"), [
    ('model=~"churn"', {"model": "churn"}, True),
    ('model=~"churn"', {"model": "churn-v2"}, False),  # anchored at the end
    ('model=~"churn"', {"model": "old-churn"}, False),  # and at the start
    ('model=~"churn.*"', {"model": "churn-v2"}, True),
    ('model!="fraud"', {}, True),  # a missing label is the empty string
    ('model!="fraud"', {"model": "fraud"}, False),
    ('model!~"fr.*"', {}, True),
    ('model!~"fr.*"', {"model": "fraud"}, False),
    ('model!~""', {}, False),
    ('model=~".*"', {}, True),
    ('model=""', {}, True),
    ('model=""', {"model": "churn"}, False),
    ("ModelLatencyHigh", {"alertname": "ModelLatencyHigh"}, True),
    ("ModelLatencyHigh", {"alertname": "ModelLatencyHighX"}, False),
])
def test_matching_semantics(matcher: str, labels: dict[str, str], expected: bool) -> None:
    silence = _silence(matcher, "alertname=~.+")
    assert silence.matches(labels | {"alertname": labels.get("alertname", "A")}) is expected


def test_every_matcher_must_match_for_a_silence_to_apply() -> None:
    silence = _silence("alertname=ModelLatencyHigh", "model=churn")
    assert silence.matches({"alertname": "ModelLatencyHigh", "model": "churn", "x": "y"})
    assert not silence.matches({"alertname": "ModelLatencyHigh", "model": "fraud"})
    assert not silence.matches({"model": "churn"})


# -- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize("texts", [['model=~".*"'], ['model=""', 'team=~"x|"'], ["a=~a*"]])
def test_a_silence_matching_everything_is_refused(texts: list[str]) -> None:
    with pytest.raises(SilenceError, match="^matchers: at least one matcher must not match "
                                           "the empty string, got .*; a silence like this "
                                           "would mute every alert$"):
        _silence(*texts)


def test_negative_matchers_count_as_not_matching_empty_as_in_alertmanager() -> None:
    assert _silence('env!="staging"').matches({"alertname": "A"})


def test_new_silence_defaults_and_clamps_like_alertmanager() -> None:
    matchers = parse_silence_matchers(["alertname=A"])
    made = new_silence(matchers=matchers, created_by="alice", comment="c", now=T0)
    assert (made.starts_at, made.ends_at, made.updated_at) == (T0, T0 + DEFAULT_DURATION, T0)
    assert len(made.id) == 36 and made.id.count("-") == 4
    started = new_silence(matchers=matchers, created_by="a", comment="c", now=T0,
                          starts_at=T0 - 5 * MIN, duration=timedelta(hours=2))
    assert (started.starts_at, started.ends_at) == (T0, T0 - 5 * MIN + timedelta(hours=2))
    later = new_silence(matchers=matchers, created_by="a", comment="c", now=T0,
                        starts_at=T0 + MIN, duration=MIN)
    assert (later.starts_at, later.ends_at) == (T0 + MIN, T0 + 2 * MIN)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ends_at": T0 + MIN, "duration": MIN}, "endsAt: give an end time or a duration, not both"),
    ({"duration": timedelta(0)}, "duration: 0s is not positive; give how long the silence "
                                 "lasts, e.g. 2h"),
    ({"ends_at": T0 - MIN}, "endsAt: 2026-03-01T11:59:00+00:00 is not after startsAt "
                            "2026-03-01T12:00:00+00:00; end the silence after it starts"),
    ({"starts_at": T0 - 2 * MIN, "ends_at": T0 - MIN},
     "endsAt: 2026-03-01T11:59:00+00:00 is in the past (now is 2026-03-01T12:00:00+00:00); "
     "a new silence must end in the future"),
    ({"created_by": " "}, "createdBy: must not be empty; say who is silencing"),
    ({"comment": ""}, "comment: must not be empty; say why the alerts are silenced"),
    ({"matchers": ()}, 'matchers: at least one matcher is required, e.g. '
                       'alertname="ModelLatencyHigh"'),
])
def test_new_silence_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"matchers": parse_silence_matchers(["alertname=A"]),
                               "created_by": "alice", "comment": "c", "now": T0}
    with pytest.raises(SilenceError) as caught:
        new_silence(**(args | kwargs))  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_parse_time_takes_rfc3339_with_a_zone() -> None:
    assert parse_time("2026-03-01T12:00:00Z", "--end") == T0
    assert parse_time("2026-03-01T13:30:00+01:30", "--end") == T0
    with pytest.raises(SilenceError, match="^--end: '2026-03-01T12:00:00' has no time zone; "
                                           "add Z for UTC or an offset"):
        parse_time("2026-03-01T12:00:00", "--end")
    with pytest.raises(SilenceError, match="^endsAt: 'tomorrow' is not an RFC 3339 time; "
                                           "write e.g. 2026-01-01T09:00:00Z$"):
        parse_time("tomorrow", "endsAt")


# -- the silencer over the store ----------------------------------------------------------
def test_silencer_finds_the_active_silence_now_and_in_the_past(database: Database) -> None:
    clock, store = FakeClock(T0), SilenceStore(database)
    silencer = Silencer(store, clock)
    labels = Labels({"alertname": "ModelLatencyHigh", "model": "churn"})
    store.add(_silence("alertname=ModelLatencyHigh", start=T0, end=T0 + 10 * MIN))
    store.add(_silence("model=fraud", start=T0, end=T0 + 10 * MIN, silence_id="other"))
    assert silencer.silenced_by(labels) is not None
    assert silencer.silenced_by(Labels({"alertname": "Other", "model": "churn"})) is None
    clock.advance(10 * MIN)
    assert silencer.silenced_by(labels) is None  # ended
    found = silencer.silenced_by(labels, at=T0 + 5 * MIN)
    assert found is not None and found.id == ID


# -- routing under silences ---------------------------------------------------------------
class _Service:
    """The alert state machine, a silenced router and the outbox over one database."""

    def __init__(self, database: Database) -> None:
        self.clock = FakeClock(T0)
        self.alerts, self.outbox = AlertStore(database), OutboxStore(database)
        self.silences = SilenceStore(database)
        self.state = AlertStateMachine(store=self.alerts)
        self.router = Router(routes=[Route(receiver="pager", severities=("page",)),
                                     Route(receiver="chat")],
                             outbox=self.outbox, base_url="http://wk",
                             silencer=Silencer(self.silences, self.clock))

    def evaluate(self, active: bool) -> list[Transition]:
        """Evaluate once at the clock's time, as the loop does, and return the transitions."""
        now = self.clock.now()
        signal = Signal(name="ModelLatencyHigh", labels=Labels({"model": "churn",
                                                                 "severity": "page"}),
                        active=active, value=0.9, source="rule/latency")
        transitions = self.state.apply([signal], now, evaluated_sources=["rule/latency"])
        self.router.enqueue(transitions)
        self.router.unsuppressed(self.alerts.all([AlertState.FIRING]), now)
        return transitions

    def queued(self) -> list[tuple[str, str]]:
        return sorted((e.receiver, str(e.notification.status)) for e in self.outbox.list())


def test_a_silenced_alert_is_notified_once_its_silence_is_expired(
        database: Database, caplog: pytest.LogCaptureFixture) -> None:
    svc = _Service(database)
    svc.silences.add(_silence('model=~"ch.*"', end=T0 + timedelta(hours=2)))
    with caplog.at_level(logging.INFO, logger="monitor.alerting.routing"):
        (fired,) = svc.evaluate(active=True)
    assert fired.to_state is AlertState.FIRING
    assert svc.queued() == []
    assert svc.router.suppressed_total == 2
    assert (f"alert ModelLatencyHigh {{'alertname': 'ModelLatencyHigh', 'model': 'churn', "
            f"'severity': 'page'}} fired under silence {ID} (by alice: deploying v2); "
            "not notifying pager, chat") in caplog.messages
    svc.clock.advance(MIN)
    assert svc.evaluate(active=True) == [] and svc.queued() == []  # still silenced
    svc.clock.advance(MIN)
    svc.silences.expire(ID, svc.clock.now())
    svc.evaluate(active=True)
    assert svc.queued() == [("chat", "firing"), ("pager", "firing")]
    entry = svc.outbox.list()[0]
    assert entry.created_at == T0 + 2 * MIN and entry.notification.starts_at == T0
    svc.clock.advance(MIN)
    svc.evaluate(active=True)
    assert len(svc.outbox.list()) == 2  # idempotent: the dedup key is the firing's
    svc.clock.advance(MIN)
    svc.evaluate(active=False)
    assert svc.queued() == [("chat", "firing"), ("chat", "resolved"), ("pager", "firing"),
                            ("pager", "resolved")]


def test_a_silence_that_runs_out_unmutes_a_still_firing_alert(database: Database) -> None:
    svc = _Service(database)
    svc.silences.add(_silence("alertname=ModelLatencyHigh", end=T0 + 5 * MIN))
    svc.evaluate(active=True)
    svc.clock.advance(4 * MIN)
    svc.evaluate(active=True)
    assert svc.queued() == []
    svc.clock.advance(MIN)
    svc.evaluate(active=True)
    assert svc.queued() == [("chat", "firing"), ("pager", "firing")]


def test_the_resolution_of_a_never_notified_firing_is_not_sent(
        database: Database, caplog: pytest.LogCaptureFixture) -> None:
    svc = _Service(database)
    svc.silences.add(_silence("alertname=ModelLatencyHigh", end=T0 + timedelta(hours=1)))
    svc.evaluate(active=True)
    svc.clock.advance(MIN)
    with caplog.at_level(logging.INFO, logger="monitor.alerting.routing"):
        (resolved,) = svc.evaluate(active=False)
    assert caplog.messages == [
        "alert ModelLatencyHigh {'alertname': 'ModelLatencyHigh', 'model': 'churn', "
        "'severity': 'page'} resolved, but pager, chat never heard it fire (silenced); not "
        "notifying the resolution"]
    assert resolved.to_state is AlertState.RESOLVED
    assert svc.router.suppressed_total == 4  # two firings and two resolutions held back
    assert svc.queued() == [] and svc.router.notifications([resolved]) == []
    svc.silences.expire(ID, svc.clock.now())
    svc.clock.advance(MIN)
    svc.evaluate(active=False)
    assert svc.queued() == []  # resolved before the silence ended: nothing to tell


def test_a_notified_alert_resolves_even_under_a_later_silence(database: Database) -> None:
    svc = _Service(database)
    svc.evaluate(active=True)
    assert svc.queued() == [("chat", "firing"), ("pager", "firing")]
    svc.clock.advance(MIN)
    svc.silences.add(_silence("alertname=ModelLatencyHigh", start=svc.clock.now(),
                              end=T0 + timedelta(hours=1)))
    svc.clock.advance(MIN)
    (resolved,) = svc.evaluate(active=False)
    assert [n.status for n in svc.router.notifications([resolved])] == [
        NotificationStatus.RESOLVED] * 2
    assert ("pager", "resolved") in svc.queued() and svc.router.suppressed_total == 0


def test_a_firing_muted_by_silences_in_turn_is_notified_after_the_last(
        database: Database) -> None:
    svc = _Service(database)
    svc.silences.add(_silence("alertname=ModelLatencyHigh", end=T0 + 2 * MIN))
    svc.silences.add(_silence('model="churn"', start=T0 + MIN, end=T0 + timedelta(days=9),
                              silence_id="second"))
    svc.evaluate(active=True)
    svc.clock.advance(timedelta(days=8))
    svc.evaluate(active=True)
    assert svc.silences.delete_expired_before(svc.clock.now() - timedelta(days=5)) == 1
    svc.clock.advance(timedelta(days=1))
    svc.evaluate(active=True)  # the silence it fired under is gone; the second one tells
    assert svc.queued() == [("chat", "firing"), ("pager", "firing")]


def test_an_alert_silenced_after_it_fired_is_not_notified_again(database: Database) -> None:
    svc = _Service(database)
    svc.evaluate(active=True)
    svc.silences.add(_silence("alertname=ModelLatencyHigh", start=T0 + MIN, end=T0 + 3 * MIN))
    for _ in range(4):
        svc.clock.advance(MIN)
        svc.evaluate(active=True)
    assert svc.queued() == [("chat", "firing"), ("pager", "firing")]


def test_silences_that_do_not_match_leave_routing_alone(database: Database) -> None:
    svc = _Service(database)
    svc.silences.add(_silence("model=fraud"))
    svc.evaluate(active=True)
    assert svc.queued() == [("chat", "firing"), ("pager", "firing")]
    assert svc.router.suppressed_total == 0


def test_a_router_without_silencer_notifies_everything(database: Database) -> None:
    outbox = OutboxStore(database)
    router = Router(routes=[Route(receiver="chat")], outbox=outbox, base_url="")
    state = AlertStateMachine(store=AlertStore(database))
    SilenceStore(database).add(_silence("alertname=A"))
    transitions = state.apply([Signal(name="A", labels=Labels(), active=True)], T0)
    assert [n.receiver for n in router.enqueue(transitions)] == ["chat"]
    assert router.unsuppressed(AlertStore(database).all(), T0) == []


def test_a_matcher_on_an_unknown_operator_is_not_a_matcher() -> None:
    with pytest.raises(SilenceError, match="not a label matcher"):
        parse_silence_matchers(["alertname=A", "model<>churn"])
    assert Matcher(name="m", op=MatchOp.NE, value="") in parse_silence_matchers(['m!=""'])
