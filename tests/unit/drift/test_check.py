"""check(): default decisions on the benchmark-shaped data, overrides, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from monitor.drift.check import CheckConfig, DriftReport, FeatureCheck, FeatureStatus, check
from monitor.drift.defaults import TestChoice, default_test
from monitor.drift.profile import BaselineProfile, FeatureKind, ProfileBuilder, profile_columns

NUMERIC = [f"num_{i:02d}" for i in range(20)]
SHIFTED = ["num_03", "num_07", "num_11", "num_15", "num_19"]
SCALED = ["num_05", "num_13"]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
DRIFTED = sorted([*SHIFTED, *SCALED, "cat_0", "cat_1", "cat_2"])
LEVELS = np.array([f"L{i}" for i in range(10)] + ["L_new"])


def _probabilities(column: str, drifted: bool) -> np.ndarray:
    p = np.append(np.full(10, 0.1), 0.0)
    if drifted and column == "cat_0":          # L0: 10% -> 14%
        p[:10] = 0.86 / 9
        p[0] = 0.14
    elif drifted and column == "cat_1":        # L3: 13%, L7: 7%
        p[3], p[7] = 0.13, 0.07
    elif drifted and column == "cat_2":        # a level never seen, in 2% of the rows
        p[:10], p[10] = 0.098, 0.02
    shares: np.ndarray = p / p.sum()
    return shares


def _table(rows: int, drifted: bool, rng: np.random.Generator) -> dict[str, object]:
    columns: dict[str, object] = {}
    for name in NUMERIC:
        x = rng.normal(size=rows)
        if drifted and name in SHIFTED:
            x += 0.1
        if drifted and name in SCALED:
            x *= 1.3
        columns[name] = x
    for name in CATEGORICAL:
        codes = rng.choice(11, size=rows, p=_probabilities(name, drifted))
        columns[name] = pa.array(LEVELS[codes])
    return columns


def _profiles(reference: int, current: int, seed: int) -> tuple[BaselineProfile,
                                                              BaselineProfile]:
    rng = np.random.default_rng(seed)
    base = ProfileBuilder()
    base.add(_table(reference, False, rng))
    now = ProfileBuilder()
    now.add(_table(current, True, rng))
    return base.finish(), now.finish()


@pytest.mark.parametrize(("reference", "current", "seed"), [
    (100_000, 10_000, 1), (100_000, 10_000, 2), (100_000, 10_000, 3), (40_000, 10_000, 4),
    (1_000_000, 100_000, 5)])
def test_defaults_flag_exactly_the_drifted_columns(reference: int, current: int,
                                                   seed: int) -> None:
    baseline, window = _profiles(reference, current, seed)
    report = check(baseline, window)
    assert sorted(report.drifted) == DRIFTED
    assert all(r.status is FeatureStatus.OK for r in report.features)
    by = {r.feature: r for r in report.features}
    assert {by[n].test for n in NUMERIC} == {"ks"} and {by[c].test for c in CATEGORICAL} == {
        "chisquare"}
    assert by["num_03"].effect_threshold == 0.05 and by["cat_0"].effect_threshold == 0.03


def test_effect_gate_keeps_a_negligible_shift_quiet_on_large_samples() -> None:
    rng = np.random.default_rng(7)
    baseline = profile_columns({"x": rng.normal(size=1_000_000)})
    window = profile_columns({"x": rng.normal(0.02, size=200_000)})
    result = check(baseline, window).features[0]
    assert result.adjusted_p_value is not None and result.adjusted_p_value < 1e-6
    assert result.effect is not None and result.effect < 0.05 and not result.drifted
    assert check(baseline, window, CheckConfig(effect_threshold=0.0)).drifted == ("x",)


def test_corrections_adjust_p_values_together() -> None:
    baseline, window = _profiles(20_000, 5_000, 8)
    none = check(baseline, window, CheckConfig(correction="none"))
    bonf = check(baseline, window, CheckConfig(correction="bonferroni"))
    bh = check(baseline, window)
    tested = len(none.features)
    for a, b, c in zip(none.features, bonf.features, bh.features, strict=True):
        assert a.p_value == b.p_value == c.p_value and a.p_value is not None
        assert a.adjusted_p_value == a.p_value
        assert b.adjusted_p_value == pytest.approx(min(1.0, a.p_value * tested))
        assert c.adjusted_p_value is not None and a.p_value <= c.adjusted_p_value
        assert c.adjusted_p_value <= (b.adjusted_p_value or 1.0)


def test_overrides_choose_tests_thresholds_and_disable() -> None:
    baseline, window = _profiles(20_000, 5_000, 9)
    config = CheckConfig(features={
        "num_00": FeatureCheck(enabled=False),
        "num_03": FeatureCheck(test="psi"),
        "num_05": FeatureCheck(test="wasserstein", threshold=0.5),
        "cat_0": FeatureCheck(test="jensenshannon", threshold=0.01),
        "cat_1": FeatureCheck(test="ks")})
    by = {r.feature: r for r in check(baseline, window, config).features}
    assert by["num_00"].status is FeatureStatus.SKIPPED and not by["num_00"].drifted
    assert (by["num_03"].test, by["num_03"].threshold, by["num_03"].p_value) == ("psi", 0.1, None)
    assert not by["num_03"].drifted                   # PSI of a 0.1 sd shift is about 0.01
    assert by["num_05"].threshold == 0.5 and not by["num_05"].drifted
    assert by["cat_0"].drifted and by["cat_0"].adjusted_p_value is None
    assert by["cat_1"].status is FeatureStatus.ERROR
    assert "test 'ks' does not compare categorical features" in by["cat_1"].message


def test_evidently_preset_follows_its_size_rule() -> None:
    assert default_test(FeatureKind.NUMERIC, 1_000, preset="evidently") == TestChoice(
        test="ks", threshold=0.05, effect_threshold=0.0)
    assert default_test(FeatureKind.CATEGORICAL, 1_001, preset="evidently") == TestChoice(
        test="jensenshannon", threshold=0.1, effect_threshold=0.0)
    assert default_test(FeatureKind.NUMERIC, 1_001, preset="evidently").test == "wasserstein"
    baseline, window = _profiles(5_000, 2_000, 10)
    report = check(baseline, window, CheckConfig(preset="evidently"))
    assert {r.test for r in report.features} == {"wasserstein", "jensenshannon"}
    with pytest.raises(ValueError, match="drift preset 'nope' is not known"):
        default_test(FeatureKind.NUMERIC, 10, preset="nope")


def test_bad_features_get_a_status_and_the_rest_still_run() -> None:
    rng = np.random.default_rng(11)
    n = 2_000
    baseline = profile_columns({
        "good": rng.normal(size=n), "const": np.full(n, 4.0), "gone": rng.normal(size=n),
        "empty_now": rng.normal(size=n), "typed": rng.normal(size=n),
        "mixed": rng.normal(size=n), "level": rng.choice(["a", "b"], size=n),
        "never": [None] * n}, numeric=["never"])
    window = profile_columns({
        "good": rng.normal(1.0, size=500), "const": rng.normal(size=500),
        "empty_now": [None] * 500, "typed": ["x", "y"] * 250,
        "mixed": [1.0, "oops"] * 250, "level": rng.normal(size=500),
        "never": rng.normal(size=500)},
        numeric=["empty_now", "mixed", "never"])
    report = check(baseline, window)
    by = {r.feature: r for r in report.features}
    assert by["good"].status is FeatureStatus.OK and report.drifted == ("good",)
    messages = {name: by[name].message for name in by if name != "good"}
    assert all(by[name].status is FeatureStatus.ERROR for name in messages)
    assert "constant in the baseline (every value 4)" in messages["const"]
    assert "in the baseline but not in the window" in messages["gone"]
    assert "no values in the window (500 missing)" in messages["empty_now"]
    assert "numeric in the baseline but the window has strings (e.g. 'x', 'y')" in messages[
        "typed"]
    assert "250 of 500 values in the window are not numbers (e.g. 'oops')" in messages["mixed"]
    assert "categorical in the baseline but numeric in the window" in messages["level"]
    assert "no values in the baseline (2000 missing)" in messages["never"]
    assert {e.feature for e in report.errors} == set(messages)


def test_empty_window_skips_every_feature() -> None:
    baseline = profile_columns({"x": np.arange(10.0), "c": ["a"] * 10})
    window = ProfileBuilder(numeric=["x"], categorical=["c"]).finish()
    report = check(baseline, window)
    assert report.drifted == () and report.rows_current == 0
    assert {r.status for r in report.features} == {FeatureStatus.SKIPPED}
    assert "the window is empty" in report.features[0].message


def test_unknown_override_and_unknown_test_are_errors() -> None:
    baseline = profile_columns({"x": np.arange(10.0)})
    report = check(baseline, baseline, CheckConfig(features={
        "x": FeatureCheck(test="nope"), "y": FeatureCheck()}))
    x, y = report.result("x"), report.result("y")
    assert x.status is FeatureStatus.ERROR and "no plugin named 'nope'" in x.message
    assert y.status is FeatureStatus.ERROR and "configured but not in the baseline" in y.message
    with pytest.raises(KeyError, match="no result for feature 'z'"):
        report.result("z")


def test_report_is_json_ready() -> None:
    baseline = profile_columns({"x": np.full(50, 1.0), "y": np.arange(50.0)})
    window = profile_columns({"x": np.full(50, 2.0), "y": np.arange(50.0) + 20})
    report = check(baseline, window, CheckConfig(features={"x": FeatureCheck(test="psi")}))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["drifted"] == list(report.drifted) and data["correction"] == "benjamini-hochberg"
    assert {f["feature"] for f in data["features"]} == {"x", "y"}
    assert isinstance(report, DriftReport) and data["features"][1]["kind"] == "numeric"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"alpha": 0.0}, "alpha must be between 0 and 1, got 0.0"),
    ({"correction": "holm"}, "correction must be one of"),
    ({"preset": "x"}, "preset must be one of"),
    ({"effect_threshold": -1.0}, "effect_threshold must be >= 0, got -1.0")])
def test_config_checks_its_fields(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CheckConfig(**kwargs)  # type: ignore[arg-type]
