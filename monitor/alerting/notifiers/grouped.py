"""What every notifier says about a grouped notification: its subject, severity and members.

A grouped notification (from an ``AlertRouting`` route) carries its group's alerts in
``alerts``; these helpers describe it the same way in Slack, PagerDuty and the console,
after Alertmanager's default templates (``__subject``: ``[FIRING:2] <group label values>``).
"""

from __future__ import annotations

from monitor.core.model import Notification, NotificationStatus

__all__ = [
    "MEMBER_HIDDEN_LABELS",
    "distinct_labels",
    "group_severity",
    "group_subject",
    "is_grouped",
    "ordered_members",
    "severity_rank",
]

MEMBER_HIDDEN_LABELS = frozenset({"alertname", "severity"})
"""Labels shown apart from a member's other labels (as its name and its severity)."""
_RANK = {"page": 0, "critical": 0, "ticket": 1, "error": 1, "warning": 2, "info": 3}


def is_grouped(notification: Notification) -> bool:
    """Return whether *notification* speaks for a group of alerts (it has ``alerts``)."""
    return bool(notification.alerts)


def severity_rank(severity: str) -> int:
    """Return how urgent *severity* is, 0 the most; unknown and empty ones come last.

    Examples
    --------
    >>> sorted(["info", "", "page", "ticket"], key=severity_rank)
    ['page', 'ticket', 'info', '']
    """
    return _RANK.get(severity, len(_RANK) if severity else len(_RANK) + 1)


def ordered_members(notification: Notification) -> list[Notification]:
    """Return the members, firing ones first, each part in the order the group gave them."""
    members = notification.members()
    return ([m for m in members if m.status is NotificationStatus.FIRING]
            + [m for m in members if m.status is not NotificationStatus.FIRING])


def group_severity(notification: Notification) -> str:
    """Return the group's severity: the common one, else the most urgent of its firing alerts.

    With no alert firing, the most urgent of all its alerts; "" when none has one.
    """
    if notification.severity:
        return notification.severity
    members = notification.members()
    firing = [m for m in members if m.status is NotificationStatus.FIRING] or list(members)
    severities = [m.severity for m in firing if m.severity]
    return min(severities, key=severity_rank) if severities else ""


def group_subject(notification: Notification) -> str:
    """Return Alertmanager's default subject: ``[FIRING:2] <alertname> <group label values>``.

    The count is of firing alerts, as Alertmanager's; a resolved group reads
    ``[RESOLVED] …``. The alert name is not repeated when ``alertname`` is a group label.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from monitor.core.model import Labels
    >>> def alert(fp: str, status: NotificationStatus) -> Notification:
    ...     return Notification(dedup_key=fp, receiver="r", status=status,
    ...         alert_fingerprint=fp, alert_name="Drift", labels=Labels({"model": "churn"}),
    ...         annotations={}, value=1.0, starts_at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> group = Notification(dedup_key="g", receiver="r", status=NotificationStatus.FIRING,
    ...     alert_fingerprint="g", alert_name="Drift", labels=Labels({"model": "churn"}),
    ...     annotations={}, value=1.0, starts_at=datetime(2026, 1, 1, tzinfo=UTC),
    ...     group_labels=Labels({"model": "churn"}),
    ...     alerts=(alert("a", NotificationStatus.FIRING), alert("b", NotificationStatus.FIRING),
    ...             alert("c", NotificationStatus.RESOLVED)))
    >>> group_subject(group)
    '[FIRING:2] Drift churn'
    """
    firing, _ = notification.counts()
    state = f"FIRING:{firing}" if notification.status is NotificationStatus.FIRING else "RESOLVED"
    values = [v for k, v in notification.group_labels.items() if k != "alertname" and v]
    return " ".join([f"[{state}]", notification.alert_name, *values]).strip()


def distinct_labels(member: Notification, group: Notification) -> dict[str, str]:
    """Return the labels that tell *member* apart in *group*: those not common to all.

    ``alertname`` and ``severity`` are left out; they are shown on their own.
    """
    return {k: v for k, v in member.labels.items()
            if k not in MEMBER_HIDDEN_LABELS and group.labels.get(k) != v}
