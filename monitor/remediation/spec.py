"""The ``kind: RemediationPolicy`` file format.

.. code-block:: yaml

    apiVersion: watchkeeper.dev/v1
    kind: RemediationPolicy
    metadata: {name: rollback-churn-on-page}
    spec:
      match: {severity: page}            # label equality (Alertmanager `match`)
      matchers: ['model=~"churn.*"']     # Alertmanager `matchers` strings
      action: rollback                   # rollback | retrain | scale_up | scale_down | webhook
      backend: local                     # a name in the watchkeeper.backends registry
      model_label: model                 # which alert label names the model
      parameters: {}                     # passed to the backend as strings
      priority: 100                      # lower runs first; ties by name
      guards: {dry_run: false, cooldown: 10m}
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

from monitor.config.documents import Document
from monitor.config.errors import ConfigError
from monitor.config.schema import Fields
from monitor.core.matchers import Matcher, parse_matchers
from monitor.remediation.backends.base import backends
from monitor.remediation.policy import Action, Guards, RemediationPolicy

__all__ = ["KIND", "Guards", "RemediationPolicy", "from_document"]

KIND = "RemediationPolicy"
_SPEC = {"match", "matchers", "action", "backend", "model_label", "parameters", "priority",
         "guards"}
_GUARDS = {"dry_run", "cooldown"}


def from_document(doc: Document, errors: list[ConfigError],
                  backend_names: Collection[str] | None = None) -> RemediationPolicy | None:
    """Read one ``RemediationPolicy``; every problem goes to *errors*, with its location.

    Parameters
    ----------
    doc
        A document of kind ``RemediationPolicy`` from :func:`monitor.config.load_file`.
    errors
        Where problems are collected; the policy is returned only if none was found in it.
    backend_names
        The backends a policy may name; by default those installed under the
        ``watchkeeper.backends`` entry point group.
    """
    if doc.kind != KIND:
        raise ValueError(f"from_document reads kind {KIND}, got {doc.kind!r}")
    before = len(errors)
    doc.check_api_version(errors)
    f = doc.fields(errors, _SPEC)
    selector_errors = len(errors)
    match = f.str_map("match")
    matchers = _matchers(f)
    if f.node is doc.spec and not match and not matchers and len(errors) == selector_errors:
        f.error(f.at("match"), "spec.match", "a policy needs match or matchers",
                "without them it would act on every alert; add e.g. match: {severity: page}")
    action = _action(f)
    backend = _backend(f, backends.names() if backend_names is None else backend_names)
    model_label = f.str("model_label", "model")
    f.check("model_label", bool(model_label), "must not be empty",
            "name the alert label that carries the model, e.g. model")
    parameters = f.str_map("parameters")
    priority = f.int("priority", 100)
    g = f.sub("guards", _GUARDS)
    guards = Guards(dry_run=g.bool("dry_run"), cooldown=g.duration("cooldown"))
    if len(errors) > before or action is None:
        return None
    try:
        return RemediationPolicy(name=doc.name, action=action, backend=backend, match=match,
                                 matchers=matchers, model_label=model_label or "model",
                                 parameters=parameters, priority=priority, guards=guards,
                                 source=str(doc.where))
    except ValueError as exc:
        errors.append(ConfigError(doc.where, "spec", str(exc), "", doc.context))
        return None


def _matchers(f: Fields) -> tuple[Matcher, ...]:
    out: list[Matcher] = []
    for i, item, where in f.items("matchers"):
        key = f"spec.matchers[{i}]"
        if not isinstance(item, str):
            f.error(where, key, f"expected a string, got {item!r}",
                    'write a matcher such as model=~"churn.*"')
            continue
        text = item.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        try:
            parsed = parse_matchers(text)
        except ValueError as exc:
            f.error(where, key, str(exc))
            continue
        if not parsed:
            f.error(where, key, "empty matcher", 'write name="value", e.g. model=~"churn.*"')
        out.extend(parsed)
    return tuple(out)


def _action(f: Fields) -> Action | None:
    valid = [a.value for a in Action]
    raw = _required_choice(f, "action", "valid actions", valid)
    return Action(raw) if raw else None


def _backend(f: Fields, names: Collection[str]) -> str:
    return _required_choice(f, "backend", "installed backends", names)


def _required_choice(f: Fields, key: str, what: str, choices: Collection[str]) -> str:
    """Read a required string that must be one of *choices*; "" when it is not."""
    listed = ", ".join(sorted(choices)) or "none"
    if not f.has(key):
        f.error(f.where, f"spec.{key}", "required key is missing",
                f"add {key}: <name>; {what}: {listed}")
        return ""
    raw = f.str(key)
    if raw and raw not in choices:
        close = difflib.get_close_matches(raw, sorted(choices), n=1, cutoff=0.6)
        hint = (f'did you mean "{close[0]}"? ' if close else "") + f"{what}: {listed}"
        f.error(f.at(key), f"spec.{key}", f'unknown {key} "{raw}"', hint)
        return ""
    return raw
