"""Sloth compatibility: ``tests/golden/sloth_compat/<case>/in.yaml`` gives Sloth's rules.

Each case mirrors one plugin-free case of Sloth's integration tests
(``test/integration/prometheus/testdata/in-*.yaml`` → ``out-*.yaml.tpl`` in slok/sloth) with
its own services, metrics, objectives and labels. ``expected.yaml`` is what Sloth generates
for ``in.yaml``, run with the command-line flags that ``case.yaml`` names; it is derived from
the structure of Sloth's template, never from Watchkeeper's generator, and is edited by hand
only (no ``--update-golden``). ``{{ .version }}`` stands for the ``sloth_version`` label, as
in Sloth's templates.

Outputs are compared as parsed YAML: the same documents, groups and rules in the same
order; PromQL expressions token by token (whitespace between tokens does not count, and
numbers are compared with a relative tolerance of 1e-9 because Sloth prints Go float64
values such as ``0.0009999999999999432`` for 1 - 99.9/100); every other string exactly.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config.documents import load_file
from monitor.config.durations import parse_duration
from monitor.config.errors import ConfigError
from monitor.slo.formats import read_slos
from monitor.slo.rules import RULES_VERSION, dump_yaml, generate_rule_groups
from monitor.slo.sloth import SLOTH_DEFAULT_WINDOW

GOLDEN = Path(__file__).parents[2] / "golden" / "sloth_compat"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "expected.yaml").exists())
REL_TOL = 1e-9
MAX_REPORTED = 40

_TOKEN = re.compile(r"""
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<name>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<dur>(?:\d+(?:ms|[smhdwy]))+)(?![A-Za-z0-9_.])
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<space>\s+)
  | (?P<op>.)
""", re.VERBOSE | re.DOTALL)


# -- comparing ---------------------------------------------------------------------------
def promql_tokens(expr: str) -> list[tuple[str, str]]:
    """Return the tokens of *expr* as ``(kind, text)``, whitespace left out."""
    out = []
    for match in _TOKEN.finditer(expr):
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            out.append((kind, match.group()))
    return out


def _same_token(a: tuple[str, str], b: tuple[str, str]) -> bool:
    if a[0] == b[0] == "num":
        return math.isclose(float(a[1]), float(b[1]), rel_tol=REL_TOL)
    return a == b


def expr_difference(expected: str, actual: str) -> str:
    """Return ``""`` when the two PromQL expressions match, else where they first differ."""
    want, got = promql_tokens(expected), promql_tokens(actual)
    for i, (a, b) in enumerate(zip(want, got, strict=False)):
        if not _same_token(a, b):
            return (f"differs at token {i}: expected {_around(want, i)!r}, "
                    f"got {_around(got, i)!r}")
    if len(want) != len(got):
        i = min(len(want), len(got))
        return (f"expected {len(want)} tokens, got {len(got)}; from token {i}: expected "
                f"{_around(want, i)!r}, got {_around(got, i)!r}")
    return ""


def _around(tokens: Sequence[tuple[str, str]], i: int) -> str:
    return " ".join(text for _, text in tokens[max(0, i - 4):i + 6])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Return every difference of *actual* from *expected* (parsed YAML), with its path."""
    out: list[str] = []
    _diff(expected, actual, path, out)
    return out


def _diff(expected: Any, actual: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{where}: missing; Sloth has {_short(expected[key])}")
            elif key not in expected:
                out.append(f"{where}: not in Sloth's output; got {_short(actual[key])}")
            else:
                _diff(expected[key], actual[key], where, out)
    elif isinstance(expected, list) and isinstance(actual, list):
        if path.endswith("groups"):
            _diff_groups(expected, actual, path, out)
            return
        if len(expected) != len(actual):
            out.append(f"{path}: Sloth has {len(expected)} items, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            _diff(e, a, f"{path}[{i}]", out)
    elif isinstance(expected, str) and isinstance(actual, str) and path.endswith(".expr"):
        problem = expr_difference(expected, actual)
        if problem:
            out.append(f"{path}: {problem}")
    elif _is_number(expected) and _is_number(actual):
        if not math.isclose(expected, actual, rel_tol=REL_TOL):
            out.append(f"{path}: Sloth has {expected!r}, got {actual!r}")
    elif expected != actual:
        out.append(f"{path}: Sloth has {_short(expected)}, got {_short(actual)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _diff_groups(expected: list[Any], actual: list[Any], path: str, out: list[str]) -> None:
    """Pair groups by name, then by the closest name; compare each pair and the order."""
    want = [str(g.get("name")) for g in expected]
    got = [str(g.get("name")) for g in actual]
    paired = {i: got.index(name) for i, name in enumerate(want) if name in got}
    left = [name for j, name in enumerate(got) if j not in paired.values()]
    for i, name in enumerate(want):
        if i in paired:
            continue
        close = difflib.get_close_matches(name, left, n=1, cutoff=0.6)
        if not close:
            out.append(f"{path}: group {name!r} is missing")
            continue
        left.remove(close[0])
        paired[i] = got.index(close[0])
    out.extend(f"{path}: group {name!r} is not in Sloth's output" for name in left)
    in_order = [paired[i] for i in sorted(paired)]
    if in_order != sorted(in_order):
        out.append(f"{path}: groups in another order; Sloth's order is {want}, got {got}")
    for i in sorted(paired):
        _diff(expected[i], actual[paired[i]], f"{path}[{want[i]}]", out)


def summarised(found: Sequence[str]) -> list[str]:
    """Return *found* with a difference repeated over several rules given once, counted."""
    counts: dict[str, int] = {}
    for line in found:
        key = re.sub(r"rules\[\d+\]", "rules[*]", line)
        counts[key] = counts.get(key, 0) + 1
    return [line if n == 1 else f"{line} (x{n})" for line, n in counts.items()]


# -- the cases ---------------------------------------------------------------------------
def expected_documents(case: Path) -> list[Any]:
    """Return the documents of *case*'s ``expected.yaml`` with the version filled in."""
    text = (case / "expected.yaml").read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text.replace("{{ .version }}", RULES_VERSION))
            if doc is not None]


def generated(case: Path) -> tuple[dict[str, Any], list[ConfigError]]:
    """Read *case*'s ``in.yaml`` and return Watchkeeper's rules, as parsed YAML, and errors.

    Sloth's flags map to Watchkeeper's: ``--default-slo-period`` to ``read_slos``'s
    ``sloth_period`` (``rules generate --sloth-default-period``), ``--disable-recordings``
    to ``recordings=False`` (``rules generate --disable-recordings``); the windows path is
    the AlertWindows document in ``in.yaml``.
    """
    args = sloth_args(case)
    period = (parse_duration(args[args.index("--default-slo-period") + 1])
              if "--default-slo-period" in args else SLOTH_DEFAULT_WINDOW)
    errors: list[ConfigError] = []
    docs = load_file(case / "in.yaml", f"{case.name}/in.yaml", errors)
    specs = read_slos(docs, errors, sloth_period=period)
    rules = yaml.safe_load(dump_yaml(generate_rule_groups(
        specs, extras=False, recordings="--disable-recordings" not in args)))
    assert isinstance(rules, dict)
    return rules, errors


def compare_case(case: Path) -> list[str]:
    """Return every difference of Watchkeeper's rules for *case* from Sloth's."""
    expected = expected_documents(case)
    actual, errors = generated(case)
    found = [f"in.yaml: {error}" for error in errors]
    # Packaging is not compared: Sloth writes one rule document per input document and
    # wraps Kubernetes output in a PrometheusRule object; Watchkeeper writes plain rule
    # files (one per SLO, which promtool checks). The groups, in order, must be the same.
    groups: list[Any] = []
    for doc in expected:
        groups.extend(doc["groups"] if "groups" in doc else doc["spec"]["groups"])
    found.extend(differences({"groups": groups}, actual))
    return found


def sloth_args(case: Path) -> list[str]:
    """Return the Sloth flags that ``case.yaml`` says produce ``expected.yaml``."""
    path = case / "case.yaml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(arg) for arg in data.get("sloth_args", [])]


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_rules_match_sloth(case: Path) -> None:
    found = summarised(compare_case(case))
    args = sloth_args(case)
    shown = found[:MAX_REPORTED]
    more = [f"... and {len(found) - MAX_REPORTED} more"] if len(found) > MAX_REPORTED else []
    run = f" (Sloth run with {' '.join(args)})" if args else ""
    assert not found, (f"{case.name}: {len(found)} difference(s) from Sloth's output{run}:\n"
                       + "\n".join(shown + more))


# -- the comparison itself ---------------------------------------------------------------
def test_there_are_cases_for_every_sloth_fixture() -> None:
    names = {p.name for p in CASES}
    assert {"base", "base-28d", "base-custom-windows-7d", "base-extra-labels", "base-no-alerts",
            "base-no-recordings", "base-k8s", "multifile", "openslo"} <= names


def test_every_case_has_an_input() -> None:
    assert all((case / "in.yaml").exists() for case in CASES)


def test_numbers_in_expressions_compare_within_tolerance() -> None:
    assert expr_difference("(14.4 * 0.0009999999999999432)", "(14.4 * 0.001)") == ""
    assert expr_difference("vector(1-0.9990000000000001)", "vector(1-0.999)") == ""
    problem = expr_difference("(14.4 * 0.001)", "(14.4 * 0.0011)")
    assert "token 3" in problem and "0.0011" in problem


def test_whitespace_between_tokens_does_not_count() -> None:
    sloth = "(sum(rate(x_total[5m]))\n/\nsum(rate(y_total[5m]))\n)"
    assert expr_difference(sloth, "(sum(rate(x_total[5m])) / sum(rate(y_total[5m])))") == ""
    assert expr_difference("sum by (a) (x)", "sumby (a) (x)") != ""


def test_strings_names_and_durations_compare_exactly() -> None:
    assert expr_difference('x{le="0.25"}', 'x{le="0.250"}') != ""
    assert expr_difference("slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate5m0s") != ""
    assert expr_difference("rate(x[1h30m])", "rate(x[90m])") != ""
    assert expr_difference("rate(x[5m])", "rate(x[5m]) > 0") != ""


def test_group_order_and_names_are_reported() -> None:
    sloth = {"groups": [{"name": "sloth-slo-sli-recordings-svc-b", "rules": []},
                        {"name": "sloth-slo-sli-recordings-svc-a", "rules": []}]}
    ours = {"groups": [{"name": "sloth-slo-sli-recordings-svc-a", "rules": []},
                       {"name": "sloth-slo-sli-recordings-svc-svc-b", "rules": []}]}
    found = differences(sloth, ours)
    assert any("another order" in line for line in found)
    assert any("name: Sloth has 'sloth-slo-sli-recordings-svc-b'" in line for line in found)


def test_labels_and_rule_counts_are_compared() -> None:
    labels = {"sloth_slo": "a", "sloth_objective": "99.9"}
    sloth = {"groups": [{"name": "g", "rules": [
        {"record": "r", "expr": "vector(1)", "labels": labels}]}]}
    ours = {"groups": [{"name": "g", "rules": [
        {"record": "r", "expr": "vector(1)", "labels": {**labels, "sloth_slo": "b"},
         "for": "5m"}, {"record": "extra", "expr": "vector(2)"}]}]}
    found = differences(sloth, ours)
    assert "groups[g].rules: Sloth has 1 items, got 2" in found
    assert "groups[g].rules[0].labels.sloth_slo: Sloth has 'a', got 'b'" in found
    assert any(line.startswith("groups[g].rules[0].for: not in Sloth's output") for line in found)
