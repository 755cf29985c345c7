"""Prometheus rule generation: Sloth's names, labels and expressions, and Watchkeeper's extras."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.core.matchers import parse_selector
from monitor.core.model import Severity
from monitor.slo.model import (
    AlertingSpec,
    BoolGaugeSLI,
    DriftChecksSLI,
    EventsSLI,
    ExhaustionAlert,
    GroundTruthSLI,
    LatencySLI,
    NoDataAlert,
    ProbeSLI,
    PromQLSLI,
    SeverityAlerting,
    SLOSpec,
)
from monitor.slo.rules import (
    RULES_VERSION,
    WINDOW_PAIR_LABEL,
    duration,
    generate_rule_groups,
    go_float,
    plain_float,
    render_rules,
    sli_queries,
    write_rules,
)
from monitor.slo.windows import BurnRateWindow, default_windows

WINDOWS = default_windows(timedelta(days=30))
FILTER = '{sloth_id="svc01-slo1", sloth_service="svc01", sloth_slo="slo1"}'


def _spec(**changes: Any) -> SLOSpec:
    spec = SLOSpec(
        name="slo1", service="svc01", objective=99.9,
        sli=EventsSLI(total=parse_selector('http_requests_total{job="api"}'),
                      bad=parse_selector('http_requests_total{job="api",code=~"5.."}')),
        alerting=AlertingSpec(windows=WINDOWS, name="myServiceAlert",
                              labels={"alert01k1": "alert01v1"},
                              annotations={"alert02k1": "alert02k2"},
                              page=SeverityAlerting(labels={"alert03k1": "alert03v1"}),
                              ticket=SeverityAlerting(labels={"alert04k1": "alert04v1"})),
        labels={"global01k1": "global01v1"})
    return replace(spec, **changes)


def _group(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    for group in data["groups"]:
        if group["name"] == name:
            rules: list[dict[str, Any]] = group["rules"]
            return rules
    raise AssertionError(f"no group {name}; have {[g['name'] for g in data['groups']]}")


def _rule(rules: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [r for r in rules if r.get("record", r.get("alert")) == name]
    assert len(found) == 1, f"{name}: {len(found)} rules"
    return found[0]


def test_groups_are_named_as_sloth_names_them() -> None:
    data = generate_rule_groups([_spec()])
    assert [g["name"] for g in data["groups"]] == [
        "sloth-slo-sli-recordings-svc01-slo1", "sloth-slo-meta-recordings-svc01-slo1",
        "sloth-slo-alerts-svc01-slo1", "watchkeeper-slo-recordings-svc01-slo1"]
    assert [g["name"] for g in generate_rule_groups([_spec()], extras=False)["groups"]] == [
        "sloth-slo-sli-recordings-svc01-slo1", "sloth-slo-meta-recordings-svc01-slo1",
        "sloth-slo-alerts-svc01-slo1"]


def test_sli_recordings_cover_every_alert_window_and_the_period() -> None:
    rules = _group(generate_rule_groups([_spec()]), "sloth-slo-sli-recordings-svc01-slo1")
    assert [r["record"] for r in rules] == [
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")]
    assert rules[0]["labels"] == {"global01k1": "global01v1", "sloth_id": "svc01-slo1",
                                  "sloth_service": "svc01", "sloth_slo": "slo1",
                                  "sloth_window": "5m"}
    # Sloth's period ratio: the average of the shortest window's ratios.
    assert rules[-1]["expr"] == (
        f"sum_over_time(slo:sli_error:ratio_rate5m{FILTER}[30d])\n/ ignoring (sloth_window)\n"
        f"count_over_time(slo:sli_error:ratio_rate5m{FILTER}[30d])\n")


def test_meta_recordings_match_sloth() -> None:
    rules = _group(generate_rule_groups([_spec()]), "sloth-slo-meta-recordings-svc01-slo1")
    assert _rule(rules, "slo:objective:ratio")["expr"] == "vector(0.9990000000000001)"
    assert _rule(rules, "slo:error_budget:ratio")["expr"] == "vector(1-0.9990000000000001)"
    assert _rule(rules, "slo:time_period:days")["expr"] == "vector(30)"
    assert _rule(rules, "slo:current_burn_rate:ratio")["expr"] == (
        f"slo:sli_error:ratio_rate5m{FILTER}\n/ on(sloth_id, sloth_slo, sloth_service) "
        f"group_left\nslo:error_budget:ratio{FILTER}\n")
    assert _rule(rules, "slo:period_error_budget_remaining:ratio")["expr"] == (
        f"1 - slo:period_burn_rate:ratio{FILTER}")
    info = _rule(rules, "sloth_slo_info")["labels"]
    assert info == {"global01k1": "global01v1", "sloth_id": "svc01-slo1",
                    "sloth_mode": "cli-gen-prom", "sloth_objective": "99.9",
                    "sloth_service": "svc01", "sloth_slo": "slo1",
                    "sloth_spec": "watchkeeper.dev/v1", "sloth_version": RULES_VERSION}


@pytest.mark.parametrize(("origin", "mode", "spec_version"), [
    ("native", "cli-gen-prom", "watchkeeper.dev/v1"),
    ("prometheus/v1", "cli-gen-prom", "prometheus/v1"),
    ("sloth", "cli-gen-prom", "prometheus/v1"),
    ("openslo/v1", "cli-gen-openslo", "openslo/v1"),
    ("sloth.slok.dev/v1", "cli-gen-k8s", "sloth.slok.dev/v1"),
])
def test_info_labels_name_the_origin(origin: str, mode: str, spec_version: str) -> None:
    rules = _group(generate_rule_groups([_spec(origin=origin)]),
                   "sloth-slo-meta-recordings-svc01-slo1")
    labels = _rule(rules, "sloth_slo_info")["labels"]
    assert (labels["sloth_mode"], labels["sloth_spec"]) == (mode, spec_version)


def test_page_alert_has_sloths_expression_labels_and_annotations() -> None:
    rules = _group(generate_rule_groups([_spec()]), "sloth-slo-alerts-svc01-slo1")
    assert [(r["alert"], r["labels"]["sloth_severity"]) for r in rules] == [
        ("myServiceAlert", "page"), ("myServiceAlert", "ticket")]
    eb = "0.0009999999999999432"
    page = rules[0]
    assert page["expr"] == (
        "(\n"
        f"    max(slo:sli_error:ratio_rate5m{FILTER} > (14.4 * {eb})) without (sloth_window)\n"
        "    and\n"
        f"    max(slo:sli_error:ratio_rate1h{FILTER} > (14.4 * {eb})) without (sloth_window)\n"
        ")\nor\n(\n"
        f"    max(slo:sli_error:ratio_rate30m{FILTER} > (6 * {eb})) without (sloth_window)\n"
        "    and\n"
        f"    max(slo:sli_error:ratio_rate6h{FILTER} > (6 * {eb})) without (sloth_window)\n"
        ")\n")
    assert page["labels"] == {"alert01k1": "alert01v1", "alert03k1": "alert03v1",
                              "sloth_severity": "page"}
    assert page["annotations"] == {
        "alert02k1": "alert02k2",
        "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn "
                   "rate is over expected.",
        "title": "(page) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget "
                 "burn rate is too fast."}
    assert "for" not in page


def test_disabled_severity_gets_no_alert_rule() -> None:
    alerting = replace(_spec().alerting, page=SeverityAlerting(disable=True))
    rules = _group(generate_rule_groups([_spec(alerting=alerting)]),
                   "sloth-slo-alerts-svc01-slo1")
    assert [r["labels"]["sloth_severity"] for r in rules] == ["ticket"]
    both_off = replace(alerting, ticket=SeverityAlerting(disable=True))
    names = [g["name"] for g in generate_rule_groups([_spec(alerting=both_off)])["groups"]]
    assert "sloth-slo-alerts-svc01-slo1" not in names


def test_tiers_with_different_for_become_one_rule_each() -> None:
    windows = (
        BurnRateWindow(severity=Severity.PAGE, long_window=timedelta(hours=1),
                       short_window=timedelta(minutes=5), factor=14.4,
                       for_duration=timedelta(minutes=2)),
        BurnRateWindow(severity=Severity.PAGE, long_window=timedelta(hours=6),
                       short_window=timedelta(minutes=30), factor=6))
    spec = _spec(alerting=AlertingSpec(windows=windows))
    rules = _group(generate_rule_groups([spec]), "sloth-slo-alerts-svc01-slo1")
    assert [(r.get("for"), r["labels"][WINDOW_PAIR_LABEL]) for r in rules] == [
        ("2m", "1h/5m"), (None, "6h/30m")]
    assert all(r["expr"].count("max(") == 2 for r in rules)


def test_28_day_window_is_written_in_weeks_with_its_factors() -> None:
    spec = _spec(window=timedelta(days=28),
                 alerting=AlertingSpec(windows=default_windows(timedelta(days=28))))
    data = generate_rule_groups([spec])
    sli = _group(data, "sloth-slo-sli-recordings-svc01-slo1")
    assert sli[-1]["record"] == "slo:sli_error:ratio_rate4w"
    meta = _group(data, "sloth-slo-meta-recordings-svc01-slo1")
    assert _rule(meta, "slo:time_period:days")["expr"] == "vector(28)"
    page = _group(data, "sloth-slo-alerts-svc01-slo1")[0]["expr"]
    assert "(13.44 * " in page and "(5.6 * " in page


def test_event_recordings_give_a_traffic_weighted_period_ratio() -> None:
    rules = _group(generate_rule_groups([_spec()]), "watchkeeper-slo-recordings-svc01-slo1")
    records = [r["record"] for r in rules]
    for w in ("5m", "1h", "3d", "30d"):
        assert f"slo:sli_events_total:increase{w}" in records
        assert f"slo:sli_error_events:increase{w}" in records
    total = _rule(rules, "slo:sli_events_total:increase30d")
    assert total["expr"] == 'sum(increase(http_requests_total{job="api"}[30d]))'
    assert total["labels"]["sloth_window"] == "30d"
    ratio = _rule(rules, "slo:sli_error:ratio_events30d")["expr"]
    assert ratio == (f"slo:sli_error_events:increase30d{FILTER}\n/\n"
                     f"(slo:sli_events_total:increase30d{FILTER} > 0)\n")
    assert "slo:period_error_budget_remaining:ratio_events" in records


def test_events_ratio_counts_a_missing_bad_series_as_zero() -> None:
    expr = sli_queries(_spec()).error_ratio("5m")
    assert expr == (
        '(\n  sum(rate(http_requests_total{job="api",code=~"5.."}[5m]))\n  or\n'
        '  0 * sum(rate(http_requests_total{job="api"}[5m]))\n)\n/\n'
        '(sum(rate(http_requests_total{job="api"}[5m])) > 0)\n')


def test_group_by_and_min_events_shape_the_ratio() -> None:
    spec = _spec(group_by=("tenant", "region"), min_events=20)
    expr = sli_queries(spec).error_ratio("1h")
    assert 'sum by (tenant, region) (rate(http_requests_total{job="api"}[1h]))' in expr
    assert ('and (sum by (tenant, region) (increase(http_requests_total{job="api"}[1h])) '
            '>= 20))') in expr


def test_good_events_ratio_is_clamped_at_zero() -> None:
    spec = _spec(sli=EventsSLI(total=parse_selector("reqs_total"),
                               good=parse_selector('reqs_total{code="200"}')))
    expr = sli_queries(spec).error_ratio("5m")
    assert expr.startswith("clamp_min(\n  1 - (\n")
    assert 'sum(rate(reqs_total{code="200"}[5m]))' in expr


def test_latency_uses_the_bucket_and_count_of_the_histogram() -> None:
    sli = LatencySLI(histogram=parse_selector('http_request_duration_seconds{job="api"}'),
                     threshold_seconds=1.0)
    queries = sli_queries(_spec(sli=sli))
    expr = queries.error_ratio("5m")
    assert 'http_request_duration_seconds_bucket{job="api",le=~"1(\\\\.0)?"}[5m]' in expr
    assert 'sum(rate(http_request_duration_seconds_count{job="api"}[5m]))' in expr
    half = sli_queries(_spec(sli=replace(sli, threshold_seconds=0.25))).error_ratio("5m")
    assert 'le="0.25"' in half


def test_probe_and_bool_gauge_count_samples() -> None:
    probe = sli_queries(_spec(sli=ProbeSLI(selector=parse_selector('up{job="api"}'))))
    assert 'sum(sum_over_time(up{job="api"}[1h]))' in probe.error_ratio("1h")
    assert probe.counts is not None
    assert probe.counts("1h")[0] == 'sum(count_over_time(up{job="api"}[1h]))'
    gauge = sli_queries(_spec(sli=BoolGaugeSLI(selector=parse_selector("model_loaded"))))
    assert "(model_loaded > bool 0)[1h:]" in gauge.error_ratio("1h")
    # Past a day, the subquery reads at most 1,440 steps: 30d / 1440 = 30m.
    assert "(model_loaded > bool 0)[30d:30m]" in gauge.error_ratio("30d")


def test_drift_checks_count_passing_checks() -> None:
    expr = sli_queries(_spec(sli=DriftChecksSLI(monitor="churn-drift"))).error_ratio("1h")
    assert ('watchkeeper_drift_checks_total{monitor="churn-drift",result="pass"}[1h]'
            in expr)


def test_promql_slis_keep_sloths_shapes_and_have_no_event_rules() -> None:
    events = PromQLSLI(error_query="sum(rate(errs[{{.window}}]))",
                       total_query="sum(rate(reqs[{{ .window }}]))")
    queries = sli_queries(_spec(sli=events))
    assert queries.error_ratio("5m") == "(sum(rate(errs[5m])))\n/\n(sum(rate(reqs[5m])))\n"
    assert queries.counts is None
    raw = sli_queries(_spec(sli=PromQLSLI(error_ratio_query="errs_ratio{w=\"{{.window}}\"}")))
    assert raw.error_ratio("1h") == '(errs_ratio{w="1h"})'
    names = [g["name"] for g in generate_rule_groups([_spec(sli=events)])["groups"]]
    assert not any(n.startswith("watchkeeper-") for n in names)


def test_no_data_and_exhaustion_alerts_when_enabled() -> None:
    alerting = replace(_spec().alerting, no_data=NoDataAlert(enabled=True),
                       exhaustion=ExhaustionAlert(enabled=True, within=timedelta(days=2),
                                                  lookback=timedelta(hours=12)))
    data = generate_rule_groups([_spec(alerting=alerting)])
    rules = _group(data, "watchkeeper-slo-alerts-svc01-slo1")
    no_data = _rule(rules, "myServiceAlertNoData")
    assert 'absent_over_time(http_requests_total{job="api"}[15m])' in no_data["expr"]
    exhaustion = _rule(rules, "myServiceAlertBudgetExhaustion")
    # remaining × period (30d, in seconds) < burn rate × within (2d, in seconds)
    assert "* 2.592e+06\n<\n" in exhaustion["expr"] and "* 172800\n" in exhaustion["expr"]
    # The lookback window gets its own ratio recording.
    sli = _group(data, "sloth-slo-sli-recordings-svc01-slo1")
    assert "slo:sli_error:ratio_rate12h" in [r["record"] for r in sli]


def test_ground_truth_slos_are_skipped_with_a_note(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    truth = _spec(name="truth", sli=GroundTruthSLI(predictions="p.jsonl", labels="l.jsonl"))
    with caplog.at_level(logging.WARNING, logger="monitor.slo.rules"):
        data = generate_rule_groups([truth, _spec()])
    assert all("truth" not in g["name"] for g in data["groups"])
    assert "ground-truth SLI" in caplog.text
    text = render_rules([truth])
    assert "# SLO 'truth' is skipped: its ground-truth SLI" in text
    assert yaml.safe_load(text) == {"groups": []}
    paths = write_rules([truth, _spec()], tmp_path)
    assert [p.name for p in paths] == ["slo1.rules.yml", "slo1.test.yml", "truth.rules.yml"]


def test_output_keeps_the_input_order_as_sloth_does() -> None:
    a, b = _spec(name="b-slo"), _spec(name="a-slo", service="other")
    assert render_rules([a, b]) == render_rules([a, b])
    names = [g["name"] for g in generate_rule_groups([a, b])["groups"]]
    assert names[0].startswith("sloth-slo-sli-recordings-") and names[0].endswith("-b-slo")
    assert [g["name"] for g in generate_rule_groups([b, a])["groups"]][0] == (
        "sloth-slo-sli-recordings-other-a-slo")
    assert "&id" not in render_rules([a, b])  # no YAML anchors: each rule spells its labels


@pytest.mark.parametrize(("value", "text"), [
    (14.4, "14.4"), (6.0, "6"), (0.9990000000000001, "0.9990000000000001"),
    ((100 - 99.9) / 100, "0.0009999999999999432"), (1e6, "1e+06"), (123456.0, "123456"),
    (1.5e-05, "1.5e-05"), (0.0, "0"), (-2.5, "-2.5")])
def test_go_float_prints_like_go(value: float, text: str) -> None:
    assert go_float(value) == text


@pytest.mark.parametrize(("value", "text"), [(99.9, "99.9"), (95.0, "95"), (100.0, "100")])
def test_plain_float_never_uses_an_exponent(value: float, text: str) -> None:
    assert plain_float(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (timedelta(days=7), "1w"), (timedelta(days=28), "4w"), (timedelta(days=30), "30d"),
    (timedelta(days=90), "90d"), (timedelta(days=365), "1y"), (timedelta(minutes=90), "1h30m"),
    (timedelta(seconds=30), "30s")])
def test_durations_are_written_as_prometheus_writes_them(value: timedelta, text: str) -> None:
    assert duration(value) == text
