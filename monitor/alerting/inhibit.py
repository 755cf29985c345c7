"""Inhibition as Alertmanager does it: a firing source alert mutes matching target alerts.

A target alert (matching a rule's target matchers) is muted while some *other* firing
alert matches the rule's source matchers and has the same value for every label in
``equal`` (a label both lack counts as equal, both being empty). An alert that matches
both sides of a rule is not muted by sources that match both sides too, so a rule such
as "page mutes ticket" never lets an alert mute itself or its twins. Silenced sources
still inhibit; resolved ones do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from monitor.alerting.route_tree import InhibitRule
from monitor.core.model import Alert, Labels

__all__ = ["Inhibitor"]


class Inhibitor:
    """Answer "is this alert inhibited?" for one set of firing alerts."""

    def __init__(self, rules: Sequence[InhibitRule], firing: Iterable[Alert]) -> None:
        self.rules = tuple(rules)
        alerts = list(firing)
        # per rule: the equal-label values of its sources, with fingerprints (to skip self)
        self._sources: list[dict[tuple[str, ...], list[tuple[str, bool]]]] = []
        for rule in self.rules:
            index: dict[tuple[str, ...], list[tuple[str, bool]]] = {}
            for a in alerts:
                if all(m.matches(a.labels) for m in rule.source):
                    both = all(m.matches(a.labels) for m in rule.target)
                    index.setdefault(_values(a.labels, rule.equal), []).append(
                        (a.fingerprint, both))
            self._sources.append(index)

    def inhibited_by(self, alert: Alert) -> str:
        """Return the fingerprint of an alert inhibiting *alert*, or an empty string."""
        for rule, index in zip(self.rules, self._sources, strict=True):
            if not index or not all(m.matches(alert.labels) for m in rule.target):
                continue
            two_sided = all(m.matches(alert.labels) for m in rule.source)
            for fingerprint, both in index.get(_values(alert.labels, rule.equal), ()):
                if fingerprint != alert.fingerprint and not (two_sided and both):
                    return fingerprint
        return ""


def _values(labels: Labels, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(labels.get(n, "") for n in names)
