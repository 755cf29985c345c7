"""Remediation policies: which alerts trigger which action on which backend, with guards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from monitor.config.durations import fmt_duration
from monitor.core.matchers import Matcher

__all__ = ["Action", "Guards", "RemediationPolicy", "matching"]


class Action(StrEnum):
    """What a policy does; only ``rollback`` is carried out by the built-in backends so far."""

    ROLLBACK = "rollback"
    RETRAIN = "retrain"
    SCALE_UP = "scale_up"
    SCALE_DOWN = "scale_down"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True, kw_only=True)
class Guards:
    """What keeps a policy from doing harm: dry run, and a cooldown per model and action."""

    dry_run: bool = False
    cooldown: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.cooldown < timedelta(0):
            raise ValueError(f"cooldown must not be negative, got {fmt_duration(self.cooldown)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RemediationPolicy:
    """One ``kind: RemediationPolicy``: label matchers → an action on a backend.

    ``match`` is label equality (Alertmanager ``match``) and ``matchers`` are Prometheus
    matchers (Alertmanager ``matchers``); an alert must satisfy all of both.
    """

    name: str
    action: Action
    backend: str
    match: Mapping[str, str] = field(default_factory=dict)
    matchers: tuple[Matcher, ...] = ()
    model_label: str = "model"
    parameters: Mapping[str, str] = field(default_factory=dict)
    priority: int = 100
    guards: Guards = field(default_factory=Guards)
    source: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name must not be empty")
        if not self.backend:
            raise ValueError(f"policy {self.name!r}: backend must not be empty")
        if not self.model_label:
            raise ValueError(f"policy {self.name!r}: model_label must not be empty")

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Return whether an alert with *labels* triggers this policy."""
        return (all(labels.get(k, "") == v for k, v in self.match.items())
                and all(m.matches(labels) for m in self.matchers))

    @property
    def order(self) -> tuple[int, str]:
        """Return the sort key: lower priority first, then by name."""
        return (self.priority, self.name)


def matching(policies: Iterable[RemediationPolicy],
             labels: Mapping[str, str]) -> list[RemediationPolicy]:
    """Return the policies that *labels* trigger, in the order they run."""
    return sorted((p for p in policies if p.matches(labels)), key=lambda p: p.order)
