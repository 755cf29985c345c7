"""Reading Sloth, OpenSLO and native SLOs into one model: mapping rules and cross-checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.documents import load_file, load_folder
from monitor.config.errors import ConfigError
from monitor.core.matchers import parse_selector
from monitor.slo.convert import to_native_yaml
from monitor.slo.formats import is_slo_document, read_slos
from monitor.slo.model import EventsSLI, PromQLSLI, SLOSpec, SourceKind
from monitor.slo.windows import default_windows

SLOTH = """\
version: "prometheus/v1"
service: "svc"
labels: {team: a, env: prod}
slos:
  - name: "slo1"
    objective: 99.9
    labels: {env: eu}
    sli:
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
"""
CATALOG_7D = """\
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 7d
  page:
    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}
"""


def _native(name: str, window: str = "30d", extra: str = "") -> str:
    return f"""\
apiVersion: watchkeeper.dev/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: svc
  objective: 99
  window: {window}
  sli:
    events: {{bad: 'errors_total', total: 'requests_total'}}
{extra}"""


def _openslo(query_good: str, query_total: str, objectives: str = "    - target: 0.99\n") -> str:
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: shop}}
spec:
  service: web
  indicator:
    metadata: {{name: ratio}}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource: {{type: Prometheus, spec: {{query: '{query_good}'}}}}
        total:
          metricSource: {{type: Prometheus, spec: {{query: '{query_total}'}}}}
  budgetingMethod: Occurrences
  objectives:
{objectives}"""


def _read(tmp_path: Path, *texts: str) -> tuple[list[SLOSpec], list[str]]:
    errors: list[ConfigError] = []
    docs = []
    for i, text in enumerate(texts):
        path = tmp_path / f"f{i}.yaml"
        path.write_text(text, encoding="utf-8")
        docs += load_file(path, path.name, errors)
    specs = read_slos(docs, errors)
    return specs, [str(e) for e in errors]


def test_sloth_slos_are_named_by_sloth_id_and_stay_promql(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, SLOTH)
    assert errors == []
    assert (spec.name, spec.service, spec.origin) == ("svc-slo1", "svc", "sloth")
    assert spec.source is SourceKind.PROMETHEUS
    assert spec.sli == PromQLSLI(error_query="sum(rate(errors_total[{{.window}}]))",
                                 total_query="sum(rate(requests_total[{{.window}}]))")
    assert spec.labels == {"team": "a", "env": "eu"}  # the SLO's labels win
    assert spec.alerting.windows == default_windows(spec.window)


def test_catalog_replaces_default_windows_of_its_period_only(tmp_path: Path) -> None:
    own = "  alerting:\n    windows: [{severity: page, long: 1h, short: 5m, factor: 9}]\n"
    specs, errors = _read(tmp_path, CATALOG_7D, _native("a", "7d"), _native("b", "7d", own),
                          _native("c", "30d"))
    assert errors == []
    by_name = {s.name: s for s in specs}
    assert [w.factor for w in by_name["a"].alerting.windows] == [13.44, 3.5, 1.4, 0.98]
    assert [w.factor for w in by_name["b"].alerting.windows] == [9.0]
    assert by_name["c"].alerting.windows == default_windows(by_name["c"].window)


def test_catalog_windows_convert_back_as_a_catalog(tmp_path: Path) -> None:
    specs, _ = _read(tmp_path, CATALOG_7D, _native("a", "7d"))
    text = to_native_yaml(specs)
    assert "kind: AlertWindows" in text and "errorBudgetPercent: 12.5" in text
    back, errors = _read(tmp_path, text)
    assert errors == [] and back == specs


@pytest.mark.parametrize(("good", "total"), [
    ('requests_total{code="200"}', "requests_total"),
    ('sum(rate(requests_total{code="200"}[5m]))', "sum(increase(requests_total[1h]))"),
])
def test_openslo_simple_queries_become_events_slis(tmp_path: Path, good: str,
                                                   total: str) -> None:
    (spec,), errors = _read(tmp_path, _openslo(good, total))
    assert errors == []
    assert spec.sli == EventsSLI(good=parse_selector('requests_total{code="200"}'),
                                 total=parse_selector("requests_total"))
    assert (spec.source, spec.origin, spec.objective) == (SourceKind.STORE, "openslo", 99.0)


def test_openslo_other_queries_stay_promql_with_window_placeholders(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, _openslo("sum(rate(ok_total[5m])) by (x)",
                                               "sum(requests_total) by (x)"))
    assert errors == []
    assert spec.source is SourceKind.PROMETHEUS
    assert spec.sli == PromQLSLI(  # Sloth's shape for a good/total ratio: 1 - good/total
        error_ratio_query="1 - ((sum(rate(ok_total[{{.window}}])) by (x))/"
                          "(sum(increase((sum(requests_total) by (x))[{{.window}}:]))))")


def test_openslo_objectives_each_make_a_spec(tmp_path: Path) -> None:
    objectives = "    - {displayName: Internal Goal, target: 0.999}\n    - {targetPercent: 99}\n"
    specs, errors = _read(tmp_path, _openslo("ok_total", "all_total", objectives))
    assert errors == []
    assert [(s.name, s.objective) for s in specs] == [("shop-0", 99.9),  # as Sloth names them
                                                      ("shop-1", 99.0)]


def test_duplicate_names_across_formats_name_the_first(tmp_path: Path) -> None:
    specs, errors = _read(tmp_path, SLOTH, _native("svc-slo1"))
    assert [s.origin for s in specs] == ["sloth"]
    assert errors == ['f1.yaml:1:1: name: duplicate SLO name "svc-slo1" (first defined at '
                      "f0.yaml:5:5); give each SLO a unique name"]


def test_old_openslo_versions_are_refused(tmp_path: Path) -> None:
    text = "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata: {name: x}\nspec: {}\n"
    specs, errors = _read(tmp_path, text)
    assert specs == []
    assert errors == ["f0.yaml:1:1: SLO \"x\": apiVersion: unsupported apiVersion "
                      "'openslo/v1alpha'; use openslo/v1"]


def test_which_documents_are_slo_documents(tmp_path: Path) -> None:
    other = "apiVersion: watchkeeper.dev/v1\nkind: DriftMonitor\nmetadata: {name: d}\nspec: {}\n"
    service = "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: s, displayName: S}\n" \
              "spec: {}\n"
    errors: list[ConfigError] = []
    kinds = {}
    for i, text in enumerate((SLOTH, CATALOG_7D, _native("n"), other, service)):
        path = tmp_path / f"d{i}.yaml"
        path.write_text(text, encoding="utf-8")
        (doc,) = load_file(path, path.name, errors)
        kinds[doc.kind] = is_slo_document(doc)
    assert errors == []
    assert kinds == {"SlothServiceLevel": True, "AlertWindows": True, "SLO": True,
                     "DriftMonitor": False, "Service": True}


def test_sloth_files_of_one_service_are_not_duplicate_documents(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SLOTH, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(SLOTH.replace("slo1", "slo2"), encoding="utf-8")
    errors: list[ConfigError] = []
    docs = load_folder(tmp_path, errors, tmp_path)
    assert errors == []
    assert sorted(s.name for s in read_slos(docs, errors)) == ["svc-slo1", "svc-slo2"]
