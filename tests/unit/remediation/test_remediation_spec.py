"""``kind: RemediationPolicy`` files: reading good ones, matching, ordering, invariants."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError
from monitor.core.matchers import parse_matchers
from monitor.remediation.policy import Action, Guards, RemediationPolicy, matching
from monitor.remediation.spec import from_document

GOOD = """\
apiVersion: watchkeeper.dev/v1
kind: RemediationPolicy
metadata: {name: rollback-churn-on-page}
spec:
  match:
    severity: page
  matchers: ['model=~"churn.*"', '{team="ml", env!="dev"}']
  action: rollback
  backend: local
  model_label: service_model
  parameters: {reason_prefix: auto, max_age: 3}
  priority: 10
  guards:
    dry_run: true
    cooldown: 10m
---
apiVersion: watchkeeper.dev/v1
kind: RemediationPolicy
metadata: {name: defaults}
spec:
  matchers: ['model="fraud"']
  action: scale_up
  backend: dry-run
"""


def _load(tmp_path: Path, text: str) -> tuple[list[RemediationPolicy | None], list[ConfigError]]:
    path = tmp_path / "policies.yaml"
    path.write_text(text, encoding="utf-8")
    errors: list[ConfigError] = []
    docs = load_file(path, "policies.yaml", errors)
    return [from_document(doc, errors) for doc in docs], errors


def test_reads_every_field(tmp_path: Path) -> None:
    (policy, defaults), errors = _load(tmp_path, GOOD)
    assert errors == []
    assert policy == RemediationPolicy(
        name="rollback-churn-on-page", action=Action.ROLLBACK, backend="local",
        match={"severity": "page"},
        matchers=parse_matchers('model=~"churn.*", team="ml", env!="dev"'),
        model_label="service_model", parameters={"reason_prefix": "auto", "max_age": "3"},
        priority=10, guards=Guards(dry_run=True, cooldown=timedelta(minutes=10)),
        source="policies.yaml:1:1")
    assert defaults is not None
    assert (defaults.action, defaults.backend, defaults.model_label, defaults.priority,
            defaults.guards) == (Action.SCALE_UP, "dry-run", "model", 100, Guards())


def test_policy_matches_labels(tmp_path: Path) -> None:
    (policy, _), _ = _load(tmp_path, GOOD)
    assert policy is not None
    good = {"severity": "page", "model": "churn-v2", "team": "ml", "env": "prod"}
    assert policy.matches(good)
    assert not policy.matches({**good, "severity": "ticket"})
    assert not policy.matches({**good, "model": "fraud"})
    assert not policy.matches({**good, "env": "dev"})
    assert not policy.matches({k: v for k, v in good.items() if k != "severity"})


def test_a_bad_document_yields_nothing_and_reports_once(tmp_path: Path) -> None:
    policies, errors = _load(tmp_path, GOOD.replace("cooldown: 10m", "cooldown: soon"))
    assert policies[0] is None and policies[1] is not None
    assert [str(e) for e in errors] == [
        'policies.yaml:15:15: RemediationPolicy "rollback-churn-on-page": '
        "spec.guards.cooldown: invalid duration 'soon'; use a number and a unit "
        "(ms, s, m, h, d, w, y), e.g. 30s, 5m, 1h30m, 28d"]


def test_only_remediation_policies_are_read(tmp_path: Path) -> None:
    errors: list[ConfigError] = []
    path = tmp_path / "slo.yaml"
    path.write_text("apiVersion: watchkeeper.dev/v1\nkind: SLO\nmetadata: {name: x}\nspec: {}\n",
                    encoding="utf-8")
    (doc,) = load_file(path, "slo.yaml", errors)
    with pytest.raises(ValueError, match="from_document reads kind RemediationPolicy, got 'SLO'"):
        from_document(doc, errors)


def test_matching_policies_run_by_priority_then_name() -> None:
    def policy(name: str, priority: int, severity: str = "page") -> RemediationPolicy:
        return RemediationPolicy(name=name, action=Action.ROLLBACK, backend="local",
                                 match={"severity": severity}, priority=priority)

    policies = [policy("b", 10), policy("a", 10), policy("z", 5), policy("t", 1, "ticket")]
    assert [p.name for p in matching(policies, {"severity": "page"})] == ["z", "a", "b"]
    assert matching(policies, {"severity": "info"}) == []


def test_values_check_their_invariants() -> None:
    with pytest.raises(ValueError, match="cooldown must not be negative, got -1m"):
        Guards(cooldown=timedelta(minutes=-1))
    with pytest.raises(ValueError, match="policy 'p': backend must not be empty"):
        RemediationPolicy(name="p", action=Action.ROLLBACK, backend="")
    with pytest.raises(ValueError, match="policy 'p': model_label must not be empty"):
        RemediationPolicy(name="p", action=Action.ROLLBACK, backend="local", model_label="")
