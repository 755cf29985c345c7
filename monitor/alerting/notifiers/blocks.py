"""Slack Block Kit messages for notifications, and a plain-text rendering of the same blocks.

A notification about one alert becomes a message about that alert; a grouped one (its
``alerts`` set) a message about the group: a header counting what fires, then a section
per alert, up to :data:`MAX_MEMBERS`, each with its severity, value, labels and summary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from monitor.alerting.notifiers.grouped import (
    distinct_labels,
    group_severity,
    group_subject,
    is_grouped,
    ordered_members,
)
from monitor.core.model import Notification, NotificationStatus
from monitor.core.time import to_epoch

__all__ = [
    "LINK_ANNOTATIONS",
    "MAX_MEMBERS",
    "TEXT_ANNOTATIONS",
    "Block",
    "SlackMessage",
    "build_message",
    "escape",
    "format_value",
    "render_plain",
    "resolved_reply",
    "unescape",
]

Block = dict[str, object]
"""One Block Kit block, as the Slack Web API takes it (JSON object)."""

TEXT_ANNOTATIONS = ("summary", "description")
LINK_ANNOTATIONS: Mapping[str, str] = {"runbook_url": "Runbook", "dashboard_url": "Dashboard"}
_SEVERITY_EMOJI = {"page": ":rotating_light:", "ticket": ":warning:",
                   "warning": ":warning:", "info": ":information_source:"}
_RESOLVED = ":white_check_mark: RESOLVED"
_HIDDEN_LABELS = {"alertname", "severity"}
# Block Kit limits: https://api.slack.com/reference/block-kit/blocks
_HEADER_MAX, _SECTION_MAX, _FIELD_MAX, _FIELDS_PER_SECTION = 150, 3000, 2000, 10
_MAX_FIELDS = 40
MAX_MEMBERS = 10
"""The alerts of a group given a section each; the rest are counted ("and 3 more")."""
_TEXT_MAX = 3000  # the top-level ``text`` fallback; Slack truncates past 40,000
_FIELD = re.compile(r"\A\*(?P<label>[^*\n]+)\*\n(?P<value>.*)\Z", re.DOTALL)
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")  # *bold*, as Slack reads it
_LINK = re.compile(r"<(?P<target>[^<>|]+)(?:\|(?P<label>[^<>]*))?>")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackMessage:
    """What ``chat.postMessage`` / ``chat.update`` take: a fallback ``text`` and ``blocks``."""

    text: str
    blocks: tuple[Block, ...]


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack's message formatting requires.

    Examples
    --------
    >>> escape("p99 < 200ms & rising")
    'p99 &lt; 200ms &amp; rising'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo :func:`escape`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def format_value(value: float) -> str:
    """Format an alert value for people: integers plainly, others to 6 significant digits.

    Examples
    --------
    >>> format_value(3.0), format_value(0.012345678), format_value(float("nan"))
    ('3', '0.0123457', 'NaN')
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": True}


def _is_web_url(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in {"http", "https"} and bool(parsed.netloc) and len(url) <= 3000


def _title(notification: Notification) -> str:
    if notification.status is NotificationStatus.RESOLVED:
        return f"{_RESOLVED}: {notification.alert_name}"
    emoji = _SEVERITY_EMOJI.get(notification.severity, ":fire:")
    return f"{emoji} FIRING: {notification.alert_name}"


def _field(label: str, value: str) -> Block:
    return _mrkdwn(_clip(f"*{escape(label)}*\n{escape(value)}", _FIELD_MAX))


def _fields(notification: Notification) -> list[Block]:
    fields = [_field("Severity", notification.severity or "none"),
              _field("Value", format_value(notification.value))]
    for key, value in sorted(notification.annotations.items()):
        if key in TEXT_ANNOTATIONS:
            continue
        if key in LINK_ANNOTATIONS:
            if not _is_web_url(value):  # a relative path or similar: show it, not a button
                fields.append(_field(LINK_ANNOTATIONS[key], value))
            continue
        fields.append(_field(key, value))
    if len(fields) > _MAX_FIELDS:  # Slack takes at most 50 blocks; keep the message whole
        hidden = len(fields) - _MAX_FIELDS + 1
        fields = [*fields[:_MAX_FIELDS - 1], _field("…", f"{hidden} more annotations")]
    return fields


def _date(moment: datetime) -> str:
    """Return a Slack date token: shown in the reader's time zone, UTC where it cannot be."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(to_epoch(moment))}^{{date_short_pretty}} {{time}}|{fallback}>"


def _context(notification: Notification) -> Block:
    n = notification
    parts = [f"Started {_date(n.starts_at)}"]
    if n.ends_at is not None:
        parts.append(f"Ended {_date(n.ends_at)}")
    labels = " ".join(f"`{escape(k)}={escape(v)}`" for k, v in n.labels.items()
                      if k not in _HIDDEN_LABELS)
    if labels:
        parts.append(labels)
    parts.append(f"fingerprint `{escape(n.alert_fingerprint)}`")
    return {"type": "context", "elements": [_mrkdwn(_clip(" · ".join(parts), _SECTION_MAX))]}


def _buttons(annotations: Mapping[str, str]) -> Block | None:
    buttons: list[Block] = [
        {"type": "button", "text": _plain(label), "url": annotations[key], "action_id": key}
        for key, label in LINK_ANNOTATIONS.items()
        if _is_web_url(annotations.get(key, ""))
    ]
    return {"type": "actions", "elements": buttons} if buttons else None


def _fallback_text(notification: Notification) -> str:
    n = notification
    if is_grouped(n):
        summary = n.annotations.get("summary", "")
        subject = group_subject(n)
        return _clip(escape(f"{subject}: {summary}" if summary else subject), _TEXT_MAX)
    state = "RESOLVED" if n.status is NotificationStatus.RESOLVED else "FIRING"
    head = f"[{state}] {n.alert_name}" + (f" ({n.severity})" if n.severity else "")
    summary = n.annotations.get("summary", "")
    return _clip(escape(f"{head}: {summary}" if summary else head), _TEXT_MAX)


def _group_title(notification: Notification) -> str:
    subject = group_subject(notification)
    if notification.status is NotificationStatus.RESOLVED:
        return f"{_RESOLVED}: {subject.removeprefix('[RESOLVED] ')}"
    return f"{_SEVERITY_EMOJI.get(group_severity(notification), ':fire:')} {subject}"


def _capped(fields: list[Block], limit: int) -> list[Block]:
    if len(fields) <= limit:
        return fields
    return [*fields[:limit - 1], _field("…", f"{len(fields) - limit + 1} more annotations")]


def _annotation_fields(annotations: Mapping[str, str], common: Mapping[str, str]) -> list[Block]:
    """Return fields for *annotations* not in *common*, links that are not web URLs included."""
    fields = []
    for key, value in sorted(annotations.items()):
        if key in TEXT_ANNOTATIONS or common.get(key) == value:
            continue
        if key in LINK_ANNOTATIONS:
            if not _is_web_url(value):
                fields.append(_field(LINK_ANNOTATIONS[key], value))
            continue
        fields.append(_field(key, value))
    return fields


def _overview(notification: Notification) -> Block:
    n = notification
    firing, resolved = n.counts()
    if n.status is NotificationStatus.RESOLVED:
        lines = ["*The alert resolved*" if resolved == 1 else f"*All {resolved} alerts resolved*"]
    else:
        lines = [f"*{firing} firing*" + (f" · {resolved} resolved" if resolved else "")]
    lines += [escape(n.annotations[key]) for key in TEXT_ANNOTATIONS if n.annotations.get(key)]
    block: Block = {"type": "section", "text": _mrkdwn(_clip("\n".join(lines), _SECTION_MAX))}
    fields = _annotation_fields(n.annotations, {})
    if fields:
        block["fields"] = _capped(fields, _FIELDS_PER_SECTION)
    return block


def _member_section(member: Notification, group: Notification) -> Block:
    """Return one alert of a group: status, name, distinct labels, summary, links, figures."""
    m, resolved = member, member.status is NotificationStatus.RESOLVED
    emoji = ":white_check_mark:" if resolved else _SEVERITY_EMOJI.get(m.severity, ":fire:")
    head = f"{emoji} *{escape(m.alert_name)}* {'RESOLVED' if resolved else 'FIRING'}"
    labels = " ".join(f"`{escape(k)}={escape(v)}`" for k, v in distinct_labels(m, group).items())
    lines = [f"{head} {labels}" if labels else head]
    summary = m.annotations.get("summary", "")
    if summary and group.annotations.get("summary") != summary:
        lines.append(escape(summary))
    links = [f"<{escape(url)}|{label}>" for key, label in LINK_ANNOTATIONS.items()
             if _is_web_url(url := m.annotations.get(key, ""))
             and group.annotations.get(key) != url]
    if links:
        lines.append(" · ".join(links))
    if resolved and m.ends_at is not None:
        lines.append(f"Ended {_date(m.ends_at)}")
    fields = [_field("Severity", m.severity or "none"), _field("Value", format_value(m.value)),
              *_annotation_fields(m.annotations, group.annotations)]
    return {"type": "section", "text": _mrkdwn(_clip("\n".join(lines), _SECTION_MAX)),
            "fields": _capped(fields, _FIELDS_PER_SECTION)}


def _group_context(notification: Notification) -> Block:
    n = notification
    parts = [f"Started {_date(n.starts_at)}"]
    if n.status is NotificationStatus.RESOLVED and n.ends_at is not None:
        parts.append(f"Ended {_date(n.ends_at)}")
    labels = " ".join(f"`{escape(k)}={escape(v)}`" for k, v in n.group_labels.items())
    if labels:
        parts.append(f"grouped by {labels}")
    if n.group_key:
        parts.append(f"group `{escape(n.group_key)}`")
    return {"type": "context", "elements": [_mrkdwn(_clip(" · ".join(parts), _SECTION_MAX))]}


def _group_blocks(notification: Notification) -> list[Block]:
    """Return a grouped message: at most 5 + 2 × :data:`MAX_MEMBERS` blocks (Slack takes 50)."""
    blocks: list[Block] = [
        {"type": "header", "text": _plain(_clip(_group_title(notification), _HEADER_MAX))},
        _overview(notification)]
    members = ordered_members(notification)
    for member in members[:MAX_MEMBERS]:
        blocks += [{"type": "divider"}, _member_section(member, notification)]
    hidden = members[MAX_MEMBERS:]
    if hidden:
        firing = sum(1 for m in hidden if m.status is NotificationStatus.FIRING)
        parts = [f"{count} {word}" for count, word in ((firing, "firing"),
                                                       (len(hidden) - firing, "resolved")) if count]
        blocks.append({"type": "context", "elements": [_mrkdwn(
            f"…and {len(hidden)} more alert{'s' * (len(hidden) != 1)} ({', '.join(parts)})")]})
    buttons = _buttons(notification.annotations)
    if buttons is not None:
        blocks.append(buttons)
    blocks.append(_group_context(notification))
    return blocks


def build_message(notification: Notification) -> SlackMessage:
    """Build the Block Kit message announcing (or resolving) *notification*'s alert.

    Header with status and alert name; summary and description; a field for the
    severity, the value and every other annotation (burn rates, budget consumed…);
    buttons for ``runbook_url`` and ``dashboard_url``; labels and times as context.
    A grouped notification gets :func:`_group_blocks` instead.
    """
    if is_grouped(notification):
        return SlackMessage(text=_fallback_text(notification),
                            blocks=tuple(_group_blocks(notification)))
    blocks: list[Block] = [{"type": "header",
                            "text": _plain(_clip(_title(notification), _HEADER_MAX))}]
    texts = [(key, notification.annotations.get(key, "")) for key in TEXT_ANNOTATIONS]
    lines = [f"*{escape(v)}*" if key == "summary" else escape(v) for key, v in texts if v]
    if lines:
        blocks.append({"type": "section",
                       "text": _mrkdwn(_clip("\n".join(lines), _SECTION_MAX))})
    fields = _fields(notification)
    for start in range(0, len(fields), _FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": fields[start:start + _FIELDS_PER_SECTION]})
    buttons = _buttons(notification.annotations)
    if buttons is not None:
        blocks.append(buttons)
    blocks.append(_context(notification))
    return SlackMessage(text=_fallback_text(notification), blocks=tuple(blocks))


def resolved_reply(notification: Notification) -> SlackMessage:
    """Build the threaded reply that says the alert (or every alert of the group) resolved."""
    n = notification
    ended = n.ends_at.strftime(" at %Y-%m-%d %H:%M:%S UTC") if n.ends_at is not None else ""
    if is_grouped(n):
        count = len(n.members())
        what = "The alert" if count == 1 else f"All {count} alerts"
        subject = group_subject(n).removeprefix("[RESOLVED] ")
        text = f"{_RESOLVED}: {what} of {escape(subject)} resolved{ended}"
    else:
        text = (f"{_RESOLVED}: {escape(n.alert_name)} resolved{ended} "
                f"(value {format_value(n.value)})")
    return SlackMessage(text=text, blocks=({"type": "section", "text": _mrkdwn(text)},))


def _plain_mrkdwn(text: str) -> str:
    def link(match: re.Match[str]) -> str:
        target, label = match.group("target"), match.group("label")
        if target.startswith("!"):
            return label or target
        return f"{label} ({target})" if label else target

    return unescape(_LINK.sub(link, text))


def _element_text(element: object) -> str:
    if isinstance(element, Mapping):
        text = element.get("text")
        if isinstance(text, Mapping):
            return _element_text(text)
        return _plain_mrkdwn(text) if isinstance(text, str) else ""
    return ""


def _items(block: Mapping[str, object], key: str) -> list[object]:
    value = block.get(key)
    return list(value) if isinstance(value, list | tuple) else []


def _unbold(line: str) -> str:
    return _BOLD.sub(r"\1", line)


def render_plain(blocks: Sequence[Mapping[str, object]]) -> str:
    """Render Block Kit *blocks* as plain text lines, the way Slack lays them out."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(_element_text(block))
        elif kind == "section":
            lines.extend(_unbold(line) for line in _element_text(block).splitlines())
            for field in _items(block, "fields"):
                text = _element_text(field)
                match = _FIELD.match(text)
                lines.append(f"  {match['label']}: {match['value']}" if match else f"  {text}")
        elif kind == "actions":
            for element in _items(block, "elements"):
                url = element.get("url", "") if isinstance(element, Mapping) else ""
                lines.append(f"  {_element_text(element)}: {url}")
        elif kind == "context":
            lines.append("  " + " · ".join(_element_text(e) for e in _items(block, "elements")))
        elif kind == "divider":
            lines.append("-" * 40)
    return "\n".join(lines)
