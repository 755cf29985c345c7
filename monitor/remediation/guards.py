"""Guards that stop a policy from acting: one action at a time per model, and cooldowns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.config.durations import fmt_duration
from monitor.remediation.policy import RemediationPolicy
from monitor.store.runs import RunState, RunStore

__all__ = ["IN_FLIGHT", "CooldownGuard", "Verdict", "iso"]

IN_FLIGHT = frozenset({RunState.PROPOSED, RunState.AWAITING_APPROVAL, RunState.QUEUED,
                       RunState.RUNNING})
"""States of a run that has not finished yet."""


def iso(moment: datetime) -> str:
    """Return *moment* as ``2026-01-01T00:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """A guard's answer: go ahead, or skip with the reason."""

    allowed: bool
    reason: str = ""
    guard: str = ""


ALLOW = Verdict(allowed=True)


class CooldownGuard:
    """Skip an action on a model while another is in flight or one succeeded recently.

    Both checks look at runs of the same action on the same model, and only at runs
    with the same ``dry_run`` flag, so a dry-run policy never holds back a real one.

    - *in flight*: a run not yet finished (proposed, awaiting approval, queued, running)
      makes a second one a duplicate: two alerts about one model must not roll it back
      twice. This holds even without a cooldown.
    - *cooldown*: a run that succeeded less than ``guards.cooldown`` ago.
    """

    def __init__(self, runs: RunStore) -> None:
        self.runs = runs

    def check(self, policy: RemediationPolicy, model: str, now: datetime) -> Verdict:
        """Return whether *policy* may act on *model* at *now*."""
        action, dry = policy.action.value, policy.guards.dry_run
        running = self.runs.last_finished(model, action, IN_FLIGHT, dry_run=dry)
        if running is not None:
            return Verdict(allowed=False, guard="in_flight",
                           reason=f"in progress: {action} of {model} is already "
                                  f"{running.state} as run {running.id}")
        cooldown = policy.guards.cooldown
        if not cooldown:
            return ALLOW
        last = self.runs.last_finished(model, action, {RunState.SUCCEEDED}, dry_run=dry)
        if last is None or last.finished_at is None or now - last.finished_at >= cooldown:
            return ALLOW
        return Verdict(allowed=False, guard="cooldown",
                       reason=f"cooldown: last {action} of {model} at {iso(last.finished_at)} "
                              f"({fmt_duration(cooldown)} cooldown)")
