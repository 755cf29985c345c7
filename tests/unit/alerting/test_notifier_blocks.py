"""Slack Block Kit rendering: what a firing and a resolved message show, escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.alerting.notifiers.blocks import (
    build_message,
    escape,
    format_value,
    render_plain,
    resolved_reply,
    unescape,
)
from monitor.core.model import Labels, Notification, NotificationStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _note(status: NotificationStatus = NotificationStatus.FIRING,
          **annotations: str) -> Notification:
    return Notification(
        dedup_key=f"ml/f00d/1/{status}", receiver="ml", status=status, alert_fingerprint="f00d",
        alert_name="FraudModelErrorBudgetBurn",
        labels=Labels({"alertname": "FraudModelErrorBudgetBurn", "severity": "page",
                       "model": "fraud", "slo": "availability"}),
        annotations=annotations or {
            "summary": "Fraud model <availability> burns budget 14.4x & rising",
            "description": "The 1h and 5m burn rates are above 14.4.",
            "burn_rate_1h": "14.4", "budget_consumed": "3.2%",
            "runbook_url": "https://runbooks.example/slo-burn.md",
            "dashboard_url": "https://grafana.example/d/slo?var-model=fraud&x=<1>"},
        value=14.4, starts_at=T0,
        ends_at=T0 + timedelta(minutes=30) if status is NotificationStatus.RESOLVED else None)


def _by_type(blocks: tuple[dict[str, object], ...], kind: str) -> list[dict[str, object]]:
    return [b for b in blocks if b["type"] == kind]


def test_firing_message_shows_severity_figures_and_links() -> None:
    message = build_message(_note())
    (header,) = _by_type(message.blocks, "header")
    assert header["text"] == {"type": "plain_text", "emoji": True,
                              "text": ":rotating_light: FIRING: FraudModelErrorBudgetBurn"}
    summary, fields = _by_type(message.blocks, "section")
    assert summary["text"] == {"type": "mrkdwn", "text": (
        "*Fraud model &lt;availability&gt; burns budget 14.4x &amp; rising*\n"
        "The 1h and 5m burn rates are above 14.4.")}
    assert [f["text"] for f in fields["fields"]] == [  # type: ignore[attr-defined]
        "*Severity*\npage", "*Value*\n14.4", "*budget_consumed*\n3.2%", "*burn_rate_1h*\n14.4"]
    (actions,) = _by_type(message.blocks, "actions")
    assert [(b["action_id"], b["url"]) for b in actions["elements"]] == [  # type: ignore[attr-defined]
        ("runbook_url", "https://runbooks.example/slo-burn.md"),
        ("dashboard_url", "https://grafana.example/d/slo?var-model=fraud&x=<1>")]
    (context,) = _by_type(message.blocks, "context")
    text = context["elements"][0]["text"]  # type: ignore[index]
    assert "<!date^1772366400^{date_short_pretty} {time}|2026-03-01 12:00 UTC>" in text
    assert "`model=fraud` `slo=availability`" in text and "alertname" not in text
    assert message.text == ("[FIRING] FraudModelErrorBudgetBurn (page): Fraud model "
                            "&lt;availability&gt; burns budget 14.4x &amp; rising")
    json.dumps(message.blocks)  # what the Web API receives must be JSON


def test_resolved_message_is_visibly_resolved() -> None:
    message = build_message(_note(NotificationStatus.RESOLVED))
    assert message.blocks[0]["text"]["text"] == (  # type: ignore[index]
        ":white_check_mark: RESOLVED: FraudModelErrorBudgetBurn")
    assert message.text.startswith("[RESOLVED] FraudModelErrorBudgetBurn (page)")
    (context,) = _by_type(message.blocks, "context")
    assert "Ended <!date^1772368200^{date_short_pretty} {time}|2026-03-01 12:30 UTC>" in \
        context["elements"][0]["text"]  # type: ignore[index]
    reply = resolved_reply(_note(NotificationStatus.RESOLVED))
    assert reply.text == (":white_check_mark: RESOLVED: FraudModelErrorBudgetBurn resolved at "
                          "2026-03-01 12:30:00 UTC (value 14.4)")


def test_relative_links_become_fields_and_long_text_is_clipped() -> None:
    figures = {f"figure_{i:02d}": str(i) for i in range(12)}
    message = build_message(_note(NotificationStatus.FIRING, summary="x" * 5000,
                                  runbook_url="runbooks/latency.md", **figures))
    assert not _by_type(message.blocks, "actions")
    sections = _by_type(message.blocks, "section")
    assert len(sections[0]["text"]["text"]) == 3000  # type: ignore[index]
    fields = [f["text"] for s in sections[1:] for f in s["fields"]]  # type: ignore[attr-defined]
    assert [len(s["fields"]) for s in sections[1:]] == [10, 5]  # type: ignore[arg-type]
    assert "*Runbook*\nrunbooks/latency.md" in fields
    assert len(message.text) == 3000


def test_plain_rendering_reads_like_the_slack_message() -> None:
    text = render_plain(build_message(_note()).blocks)
    assert text.splitlines()[:8] == [
        ":rotating_light: FIRING: FraudModelErrorBudgetBurn",
        "Fraud model <availability> burns budget 14.4x & rising",
        "The 1h and 5m burn rates are above 14.4.",
        "  Severity: page",
        "  Value: 14.4",
        "  budget_consumed: 3.2%",
        "  burn_rate_1h: 14.4",
        "  Runbook: https://runbooks.example/slo-burn.md",
    ]
    assert text.splitlines()[-1] == ("  Started 2026-03-01 12:00 UTC · `model=fraud` "
                                     "`slo=availability` · fingerprint `f00d`")


def test_escaping_and_value_formats() -> None:
    assert escape("<@U123> & <!here>") == "&lt;@U123&gt; &amp; &lt;!here&gt;"
    assert unescape(escape("a&lt;b <c> & d")) == "a&lt;b <c> & d"
    assert [format_value(v) for v in (2.0, -0.5, 1e20, float("inf"), 1 / 3)] == [
        "2", "-0.5", "1e+20", "+Inf", "0.333333"]


def test_a_flood_of_annotations_stays_within_slacks_block_limit() -> None:
    message = build_message(_note(NotificationStatus.FIRING,
                                  **{f"a{i:03d}": "1" for i in range(300)}))
    assert len(message.blocks) <= 50
    sections = _by_type(message.blocks, "section")
    fields = [f["text"] for s in sections for f in s.get("fields", [])]  # type: ignore[attr-defined]
    assert len(fields) == 40 and fields[-1] == "*…*\n263 more annotations"
