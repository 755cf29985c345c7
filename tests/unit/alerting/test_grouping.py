"""Grouping, routing, inhibition, silences and repeat_interval, as Alertmanager documents them.

Each test names the Alertmanager behaviour it pins (docs: configuration/#route,
#inhibit_rule, alerts/#grouping, alerts/#inhibition, alerts/#silences).
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerting.grouping import Dispatcher
from monitor.alerting.route_tree import Routing, from_document
from monitor.alerting.silences import new_silence, parse_silence_matchers
from monitor.alerting.state import AlertStateMachine
from monitor.config import ConfigError, load_file
from monitor.core.model import Labels, Notification, NotificationStatus, Signal
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.alerts import AlertStore
from monitor.store.groups import GroupStore
from monitor.store.outbox import OutboxStore
from monitor.store.silences import SilenceStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEC = timedelta(seconds=1)


def routing(tmp_path: Path, spec: str) -> Routing:
    path = tmp_path / "routing.yaml"
    path.write_text("apiVersion: watchkeeper.dev/v1\nkind: AlertRouting\n"
                    "metadata: {name: routing}\nspec:\n" + textwrap.indent(
                        textwrap.dedent(spec), "  "), encoding="utf-8")
    errors: list[ConfigError] = []
    docs = load_file(path, "routing.yaml", errors)
    parsed = from_document(docs[0], errors)
    assert not errors, [str(e) for e in errors]
    assert parsed is not None
    return parsed


class Harness:
    """Alerts driven through the real state machine; groups flushed into a real outbox."""

    def __init__(self, db: Database, routing: Routing) -> None:
        self.clock = FakeClock(T0)
        self.alerts, self.outbox = AlertStore(db), OutboxStore(db)
        self.silences = SilenceStore(db)
        self.state = AlertStateMachine(store=self.alerts)
        self.dispatcher = Dispatcher(routing=routing, alerts=self.alerts,
                                     groups=GroupStore(db), outbox=self.outbox,
                                     clock=self.clock, silences=self.silences)
        self.active: dict[tuple[str, Labels], float] = {}

    def fire(self, name: str, **labels: str) -> None:
        self.active[(name, Labels(labels))] = 1.0

    def clear(self, name: str, **labels: str) -> None:
        self.active.pop((name, Labels(labels)), None)

    def at(self, seconds: float) -> list[Notification]:
        """Evaluate and tick at T0 + *seconds*; return the notifications queued then."""
        now = T0 + timedelta(seconds=seconds)
        self.clock.advance(now - self.clock.now())
        before = {e.dedup_key for e in self.outbox.list(limit=100_000)}
        signals = [Signal(name=n, labels=lab, active=True, value=v, source="test")
                   for (n, lab), v in self.active.items()]
        self.state.apply(signals, now, evaluated_sources={"test"})
        self.dispatcher.tick(now)
        new = [e.notification for e in self.outbox.list(limit=100_000)
               if e.dedup_key not in before]
        return sorted(new, key=lambda n: (n.receiver, n.group_key))


def firing(n: Notification) -> list[str]:
    return sorted(m.labels.get("instance", m.alert_name) for m in n.alerts
                  if m.status is NotificationStatus.FIRING)


def resolved(n: Notification) -> list[str]:
    return sorted(m.labels.get("instance", m.alert_name) for m in n.alerts
                  if m.status is NotificationStatus.RESOLVED)


GROUPED = """\
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
"""


def test_group_wait_batches_alerts_of_one_group_into_one_notification(
        database: Database, tmp_path: Path) -> None:
    """alerts/#grouping: alerts of one group arriving within group_wait go out together."""
    h = Harness(database, routing(tmp_path, GROUPED))
    h.fire("Down", instance="a")
    assert h.at(0) == []
    h.fire("Down", instance="b")
    assert h.at(10) == []
    h.fire("Down", instance="c")
    assert h.at(29) == []
    (sent,) = h.at(30)
    assert firing(sent) == ["a", "b", "c"] and sent.status is NotificationStatus.FIRING
    assert sent.group_labels == Labels({"alertname": "Down"})
    assert sent.group_key == '{}:{alertname="Down"}' and sent.thread_key == ""


def test_group_by_splits_groups_and_each_waits_on_its_own(database: Database,
                                                          tmp_path: Path) -> None:
    h = Harness(database, routing(tmp_path, GROUPED))
    h.fire("Down", instance="a")
    h.at(0)
    h.fire("Slow", instance="b")
    h.at(20)
    (down,) = h.at(30)
    assert down.alert_name == "Down" and firing(down) == ["a"]
    (slow,) = h.at(50)
    assert slow.alert_name == "Slow"


def test_new_alert_waits_for_group_interval_not_group_wait(database: Database,
                                                           tmp_path: Path) -> None:
    """configuration/#route: group_interval is the wait before notifying of new alerts
    added to a group whose first notification was already sent."""
    h = Harness(database, routing(tmp_path, GROUPED))
    h.fire("Down", instance="a")
    h.at(0)
    (first,) = h.at(30)
    h.fire("Down", instance="b")
    assert h.at(60) == [] and h.at(329) == []
    (second,) = h.at(330)  # 30s + 5m
    assert firing(second) == ["a", "b"]
    assert second.thread_key == first.dedup_key


def test_unchanged_group_repeats_after_repeat_interval(database: Database,
                                                       tmp_path: Path) -> None:
    """configuration/#route: repeat_interval is the wait before re-sending a notification
    that has already been sent; it is checked on group_interval ticks."""
    h = Harness(database, routing(tmp_path, GROUPED))
    h.fire("Down", instance="a")
    h.at(0)
    (first,) = h.at(30)
    sent = [n for s in range(330, 4 * 3600 + 30 + 301, 300) for n in h.at(s)]
    assert len(sent) == 1  # one repeat in 4h, at the first group_interval tick past it
    repeat_at = sent[0]
    assert firing(repeat_at) == ["a"] and repeat_at.thread_key == first.dedup_key
    assert repeat_at.dedup_key != first.dedup_key


def test_resolution_is_sent_at_next_group_interval_and_group_ends(database: Database,
                                                                   tmp_path: Path) -> None:
    h = Harness(database, routing(tmp_path, GROUPED))
    h.fire("Down", instance="a")
    h.fire("Down", instance="b")
    h.at(0)
    h.at(30)
    h.clear("Down", instance="a")
    assert h.at(100) == []
    (partial,) = h.at(330)
    assert firing(partial) == ["b"] and resolved(partial) == ["a"]
    assert partial.status is NotificationStatus.FIRING
    h.clear("Down", instance="b")
    (done,) = h.at(630)
    assert done.status is NotificationStatus.RESOLVED and resolved(done) == ["b"]
    assert GroupStore(database).all() == []
    h.fire("Down", instance="c")  # a new episode: group_wait again, a new thread
    h.at(700)
    (again,) = h.at(730)
    assert again.thread_key == "" and firing(again) == ["c"]


def test_alert_fired_and_resolved_within_group_wait_is_never_told(database: Database,
                                                                  tmp_path: Path) -> None:
    h = Harness(database, routing(tmp_path, GROUPED))
    h.fire("Flap", instance="a")
    h.at(0)
    h.clear("Flap", instance="a")
    assert h.at(10) == [] and h.at(30) == [] and h.at(400) == []
    assert GroupStore(database).all() == []


TREE = """\
route:
  receiver: default
  group_by: ['...']
  group_wait: 0s
  routes:
    - matchers: ['severity="page"']
      receiver: pager
      continue: true
    - matchers: ['team=~"ml|data"']
      receiver: ml
      routes:
        - match: {model: churn}
          receiver: churn
    - match_re: {team: "ml.*"}
      receiver: never
"""


@pytest.mark.parametrize(("labels", "receivers"), [
    ({"severity": "page", "team": "ml"}, ["ml", "pager"]),     # continue: true goes on
    ({"severity": "page", "team": "web"}, ["pager"]),  # a continue match is still a match
    ({"team": "ml"}, ["ml"]),                                  # first match stops siblings
    ({"team": "ml", "model": "churn"}, ["churn"]),             # deepest match wins
    ({"team": "mlops"}, ["never"]),                            # regexes are anchored
    ({"team": "web"}, ["default"]),                            # nothing matched: the root
])
def test_route_tree_matches_as_alertmanager(tmp_path: Path, labels: dict[str, str],
                                            receivers: list[str]) -> None:
    tree = routing(tmp_path, TREE)
    assert tree.route.group_wait == timedelta(0)  # zero is allowed, as in Alertmanager
    found = tree.route.match(Labels({"alertname": "X", **labels}))
    assert sorted(r.receiver for r in found) == receivers


def test_children_inherit_grouping_and_route_keys_follow_alertmanager(tmp_path: Path) -> None:
    tree = routing(tmp_path, TREE.replace("group_wait: 0s", "group_wait: 1s"))
    ml = tree.route.routes[1]
    assert ml.group_by == ("...",) and ml.group_wait == SEC
    assert ml.group_interval == timedelta(minutes=5)
    assert ml.repeat_interval == timedelta(hours=4)
    assert ml.key == '{}/{team=~"ml|data"}/1'
    assert ml.routes[0].key == '{}/{team=~"ml|data"}/1/{model="churn"}/0'


def test_group_by_all_labels_gives_one_group_per_alert(database: Database,
                                                       tmp_path: Path) -> None:
    spec = "route:\n  receiver: team\n  group_by: ['...']\n  group_wait: 1s\n"
    h = Harness(database, routing(tmp_path, spec))
    h.fire("Down", instance="a")
    h.fire("Down", instance="b")
    h.at(0)
    sent = h.at(1)
    assert [firing(n) for n in sent] == [["a"], ["b"]] or sorted(
        firing(n)[0] for n in sent) == ["a", "b"]
    assert len(sent) == 2


def test_no_group_by_puts_every_alert_of_the_route_in_one_group(database: Database,
                                                                tmp_path: Path) -> None:
    spec = "route:\n  receiver: team\n  group_wait: 1s\n"
    h = Harness(database, routing(tmp_path, spec))
    h.fire("Down", instance="a")
    h.fire("Slow", instance="b")
    h.at(0)
    (sent,) = h.at(1)
    assert firing(sent) == ["a", "b"] and sent.group_key == "{}:{}"


INHIBIT = """\
route:
  receiver: team
  group_by: ['...']
  group_wait: 1s
inhibit_rules:
  - source_matchers: [severity=page]
    target_matchers: [severity=ticket]
    equal: [model]
"""


def test_inhibition_mutes_targets_with_equal_labels_only(database: Database,
                                                         tmp_path: Path) -> None:
    """configuration/#inhibit_rule: a target is muted while a source with the same values
    of the equal labels fires; different values do not mute."""
    h = Harness(database, routing(tmp_path, INHIBIT))
    h.fire("Down", severity="page", model="churn", instance="src")
    h.fire("Slow", severity="ticket", model="churn", instance="muted")
    h.fire("Slow", severity="ticket", model="fraud", instance="shown")
    h.at(0)
    sent = h.at(1)
    assert sorted(firing(n)[0] for n in sent) == ["shown", "src"]
    assert (h.dispatcher.last.inhibited, h.dispatcher.last.silenced) == (1, 0)
    h.clear("Down", severity="page", model="churn", instance="src")  # source gone
    sent = h.at(2)
    assert sent == []  # the source's group reports its resolution at group_interval
    later = h.at(302)
    assert sorted(i for n in later for i in firing(n)) == ["muted"]
    assert sorted(i for n in later for i in resolved(n)) == ["src"]


def test_an_alert_matching_both_sides_does_not_inhibit_itself(database: Database,
                                                              tmp_path: Path) -> None:
    spec = INHIBIT.replace("target_matchers: [severity=ticket]",
                           "target_matchers: ['severity=~\"page|ticket\"']")
    h = Harness(database, routing(tmp_path, spec))
    h.fire("Down", severity="page", model="churn", instance="a")
    h.fire("Down2", severity="page", model="churn", instance="b")
    h.at(0)
    assert sorted(firing(n)[0] for n in h.at(1)) == ["a", "b"]


def test_silenced_alert_is_left_out_and_told_once_the_silence_ends(database: Database,
                                                                   tmp_path: Path) -> None:
    """alerts/#silences: a silenced alert is not notified; once the silence expires it is,
    at the group's next flush."""
    h = Harness(database, routing(tmp_path, GROUPED))
    h.silences.add(new_silence(matchers=parse_silence_matchers(["instance=b"]),
                               created_by="alice", comment="maintenance", now=T0,
                               duration=timedelta(minutes=10)))
    h.fire("Down", instance="a")
    h.fire("Down", instance="b")
    h.at(0)
    (first,) = h.at(30)
    assert firing(first) == ["a"]
    assert (h.dispatcher.last.inhibited, h.dispatcher.last.silenced) == (0, 1)
    assert h.at(330) == []  # still silenced, nothing changed
    (after,) = h.at(630)    # silence ended at 600 s
    assert firing(after) == ["a", "b"]


def test_group_of_only_muted_alerts_sends_nothing(database: Database, tmp_path: Path) -> None:
    h = Harness(database, routing(tmp_path, GROUPED))
    h.silences.add(new_silence(matchers=parse_silence_matchers(["alertname=Down"]),
                               created_by="alice", comment="known", now=T0,
                               duration=timedelta(hours=1)))
    h.fire("Down", instance="a")
    assert [n for s in (0, 30, 330, 630) for n in h.at(s)] == []


def test_restart_between_outbox_and_group_state_sends_once(database: Database,
                                                           tmp_path: Path) -> None:
    """The flush is queued before the group state moves on; the same flush after a crash
    carries the same dedup key, so the outbox keeps one."""
    tree = routing(tmp_path, GROUPED)
    h = Harness(database, tree)
    h.fire("Down", instance="a")
    h.at(0)
    groups = GroupStore(database)
    saved = groups.all()
    (first,) = h.at(30)
    groups.save(saved)  # as if the process died before the group state was written
    assert h.at(31) == []
    assert len(h.outbox.list(limit=100)) == 1 and first.dedup_key


def test_regrouping_after_a_config_change_resolves_nothing_still_firing(
        database: Database, tmp_path: Path) -> None:
    """A changed tree (as after Alertmanager's reload) starts new groups; an old group
    reports only the alerts that really resolved, then ends."""
    h = Harness(database, routing(tmp_path, GROUPED))
    h.fire("Down", instance="a")
    h.fire("Down", instance="b")
    h.at(0)
    h.at(30)
    other = routing(tmp_path, GROUPED.replace("group_by: [alertname]", "group_by: [instance]"))
    h.dispatcher = Dispatcher(routing=other, alerts=h.alerts, groups=GroupStore(database),
                              outbox=h.outbox, clock=h.clock, silences=h.silences)
    h.clear("Down", instance="b")
    new = h.at(60)
    assert [firing(n) for n in new] == []  # the new group waits group_wait
    sent = h.at(330)
    assert sorted((firing(n), resolved(n)) for n in sent) == [([], ["b"]), (["a"], [])]
    assert len(GroupStore(database).all()) == 1  # the old group ended
