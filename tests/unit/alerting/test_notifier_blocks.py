"""Slack Block Kit rendering: what a firing, a resolved and a grouped message show, escaped."""

from __future__ import annotations

import dataclasses
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
from tests.fakes.alert_groups import grouped, member

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


# Grouped notifications: one message for an AlertRouting group's alerts.

RUNBOOK = "https://runbooks.example/drift.md"


def _drift(feature: str, status: NotificationStatus = NotificationStatus.FIRING, *,
           severity: str = "ticket", value: float = 0.31, **annotations: str) -> Notification:
    return member("FeatureDrift", status, receiver="ml", value=value, starts_at=T0,
                  labels={"severity": severity, "model": "churn", "feature": feature},
                  annotations={"summary": f"{feature} drifted", "psi": format_value(value),
                               "runbook_url": RUNBOOK, **annotations})


def _group(*members: Notification, flush: int = 1) -> Notification:
    return grouped(members, group_labels={"model": "churn"}, route='{}/{severity="page"}',
                   flush=flush)


def test_group_message_counts_what_fires_and_shows_each_alert() -> None:
    group = _group(_drift("tenure", severity="page"),
                   _drift("age", value=0.25, dashboard_url="https://grafana.example/d/age"),
                   _drift("plan", NotificationStatus.RESOLVED,
                          runbook_url="https://runbooks.example/plan.md"))
    message = build_message(group)
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["header", "section", "divider", "section", "divider", "section",
                     "divider", "section", "context"]  # no common link: no buttons
    assert message.blocks[0]["text"]["text"] == (  # type: ignore[index]
        ":rotating_light: [FIRING:2] FeatureDrift churn")  # the most urgent firing severity
    overview = message.blocks[1]
    assert overview["text"]["text"] == "*2 firing* · 1 resolved"  # type: ignore[index]
    tenure, age, plan = (message.blocks[i] for i in (3, 5, 7))
    assert tenure["text"]["text"] == (  # type: ignore[index]
        ":rotating_light: *FeatureDrift* FIRING `feature=tenure`\ntenure drifted\n"
        f"<{RUNBOOK}|Runbook>")
    assert [f["text"] for f in tenure["fields"]] == [  # type: ignore[attr-defined]
        "*Severity*\npage", "*Value*\n0.31", "*psi*\n0.31"]
    assert "<https://grafana.example/d/age|Dashboard>" in age["text"]["text"]  # type: ignore[index]
    assert [f["text"] for f in age["fields"]][:2] == [  # type: ignore[attr-defined]
        "*Severity*\nticket", "*Value*\n0.25"]
    plan_text = plan["text"]["text"]  # type: ignore[index]
    assert plan_text.startswith(":white_check_mark: *FeatureDrift* RESOLVED `feature=plan`")
    assert "<https://runbooks.example/plan.md|Runbook>" in plan_text
    assert "Ended <!date^1772367000^{date_short_pretty} {time}|2026-03-01 12:10 UTC>" in plan_text
    context = message.blocks[-1]["elements"][0]["text"]  # type: ignore[index]
    assert "grouped by `model=churn`" in context
    assert 'group `{}/{severity="page"}:{model="churn"}`' in context
    assert message.text == "[FIRING:2] FeatureDrift churn"
    json.dumps(message.blocks)


def test_common_summary_and_links_are_shown_once_for_the_group() -> None:
    group = _group(_drift("tenure", summary="churn inputs drifted"),
                   _drift("age", summary="churn inputs drifted"))
    message = build_message(group)
    assert message.blocks[1]["text"]["text"] == (  # type: ignore[index]
        "*2 firing*\nchurn inputs drifted")
    (actions,) = _by_type(message.blocks, "actions")
    assert [b["url"] for b in actions["elements"]] == [RUNBOOK]  # type: ignore[attr-defined]
    sections = _by_type(message.blocks, "section")[1:]
    assert all("drifted" not in s["text"]["text"] and "Runbook" not in s["text"]["text"]  # type: ignore[index]
               for s in sections)
    assert message.text == "[FIRING:2] FeatureDrift churn: churn inputs drifted"


def test_a_large_group_stays_within_slacks_block_limit() -> None:
    members = [_drift(f"f{i:02d}", NotificationStatus.RESOLVED if i >= 55 else
                      NotificationStatus.FIRING, value=i / 100,
                      **{f"a{j:02d}": f"{i}.{j}" for j in range(30)},
                      **{f"common_{j:02d}": "same" for j in range(12)})
               for i in range(60)]
    message = build_message(_group(*members))
    assert len(message.blocks) <= 50
    overview, *sections = _by_type(message.blocks, "section")
    assert [f["text"] for f in overview["fields"]][-2:] == [  # type: ignore[attr-defined]
        "*common_08*\nsame", "*…*\n3 more annotations"]  # annotations every alert shares
    assert len(sections) == 10
    assert all(len(s["fields"]) == 10 for s in sections)  # type: ignore[arg-type]
    last = sections[0]["fields"][-1]  # type: ignore[index]
    assert last["text"] == "*…*\n24 more annotations"  # of severity, value, psi, a00…a29
    (more,) = [b for b in _by_type(message.blocks, "context")
               if "more" in b["elements"][0]["text"]]  # type: ignore[index]
    assert more["elements"][0]["text"] == (  # type: ignore[index]
        "…and 50 more alerts (45 firing, 5 resolved)")
    assert message.blocks[0]["text"]["text"] == ":warning: [FIRING:55] FeatureDrift churn"  # type: ignore[index]


def test_resolved_group_message_and_its_thread_reply() -> None:
    ended = T0 + timedelta(minutes=30)
    group = _group(*(dataclasses.replace(_drift(f, NotificationStatus.RESOLVED), ends_at=ended)
                     for f in ("tenure", "age", "plan")), flush=3)
    assert group.status is NotificationStatus.RESOLVED and group.thread_key
    message = build_message(group)
    assert message.blocks[0]["text"]["text"] == (  # type: ignore[index]
        ":white_check_mark: RESOLVED: FeatureDrift churn")
    assert message.blocks[1]["text"]["text"] == "*All 3 alerts resolved*"  # type: ignore[index]
    assert message.text == "[RESOLVED] FeatureDrift churn"
    assert resolved_reply(group).text == (":white_check_mark: RESOLVED: All 3 alerts of "
                                          "FeatureDrift churn resolved at 2026-03-01 12:30:00 UTC")
    one = _group(_drift("tenure", NotificationStatus.RESOLVED), flush=2)
    assert build_message(one).blocks[1]["text"]["text"] == (  # type: ignore[index]
        "*The alert resolved*\ntenure drifted")  # one alert: its summary is the group's
    assert resolved_reply(one).text.startswith(":white_check_mark: RESOLVED: The alert of "
                                               "FeatureDrift churn resolved at")


def test_plain_rendering_of_a_group_reads_header_then_each_alert() -> None:
    text = render_plain(build_message(_group(_drift("tenure"), _drift("age"))).blocks)
    assert text.splitlines()[:9] == [
        ":warning: [FIRING:2] FeatureDrift churn",
        "2 firing",
        "  psi: 0.31",
        "-" * 40,
        ":warning: FeatureDrift FIRING `feature=tenure`",
        "tenure drifted",
        "  Severity: ticket",
        "  Value: 0.31",
        "-" * 40,
    ]
