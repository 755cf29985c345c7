"""Assembly: the one place where configuration names become objects."""

from __future__ import annotations

import difflib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.alerting import AlertStateMachine, Route, Router
from monitor.alerting.delivery import DeliveryWorker
from monitor.alerting.grouping import Dispatcher
from monitor.alerting.notifiers.base import Notifier, notifiers
from monitor.alerting.route_tree import Routing
from monitor.alerting.route_tree import from_document as routing_from_document
from monitor.alerting.rules import AlertRuleEvaluator, AlertRuleGroup, AlertRuleSpec
from monitor.alerting.rules import from_document as alert_rule_from_document
from monitor.alerting.silences import Silencer
from monitor.collectors.endpoint import ScrapeManager
from monitor.config import (
    ConfigError,
    ConfigErrors,
    Document,
    ReceiverConfig,
    ServiceConfig,
    SourceLocation,
    load_folder,
    read_service_config,
)
from monitor.core.time import Clock, SystemClock
from monitor.drift.spec import DriftMonitorSpec
from monitor.drift.spec import from_document as drift_monitor_from_document
from monitor.remediation.backends.base import RemediationBackend, backends
from monitor.remediation.engine import RemediationEngine
from monitor.remediation.spec import RemediationPolicy
from monitor.remediation.spec import from_document as policy_from_document
from monitor.slo.evaluator import SLOEvaluator
from monitor.slo.formats import is_slo_document, read_slos
from monitor.slo.model import SLOSpec, SourceKind
from monitor.slo.sli import SLISource
from monitor.slo.sloth import SLOTH_DEFAULT_WINDOW
from monitor.slo.sources import sli_sources
from monitor.store import Database, SampleStore, TargetStore
from monitor.store.alerts import AlertStore
from monitor.store.groups import GroupStore
from monitor.store.outbox import OutboxStore
from monitor.store.registry import ModelRegistry
from monitor.store.rollups import RollupStore
from monitor.store.runs import RunStore
from monitor.store.silences import SilenceStore

__all__ = ["KINDS", "Rules", "Watchkeeper", "load_rules"]

Parser = Callable[[Document, list[ConfigError]], Any]
#: Kinds read one document at a time; SLO formats (native, Sloth, OpenSLO) are read
#: together by :func:`monitor.slo.formats.read_slos`, since OpenSLO objects refer to
#: each other.
KINDS: dict[str, Parser] = {
    "AlertRule": alert_rule_from_document,
    "AlertRouting": routing_from_document,
    "DriftMonitor": drift_monitor_from_document,
    "RemediationPolicy": policy_from_document,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """Every object of the rules folder, checked and typed."""

    slos: tuple[SLOSpec, ...] = ()
    alert_rules: tuple[AlertRuleSpec, ...] = ()
    policies: tuple[RemediationPolicy, ...] = ()
    routing: Routing | None = None
    drift_monitors: tuple[DriftMonitorSpec, ...] = ()


def load_rules(config: ServiceConfig, *, base: Path | None = None,
               sloth_period: timedelta = SLOTH_DEFAULT_WINDOW,
               for_service: bool = True) -> Rules:
    """Load and check the rules folder; raise :class:`ConfigErrors` listing every problem.

    *sloth_period* is the period of Sloth files, which carry none (Sloth's
    ``--default-slo-period``). With *for_service*, SLOs computed by Prometheus need a
    configured Prometheus; generating rules for Prometheus itself does not.
    """
    errors: list[ConfigError] = []
    docs = load_folder(config.rules_dir, errors, base=base)
    slo_docs = [doc for doc in docs if is_slo_document(doc)]
    slos: list[SLOSpec] = read_slos(slo_docs, errors, sloth_period=sloth_period)
    for spec in slos if for_service else ():
        if spec.source is SourceKind.PROMETHEUS and not config.prometheus_url:
            errors.append(ConfigError(
                spec.where or SourceLocation(str(config.rules_dir)), "spec.source",
                "this SLO is computed by Prometheus, but no Prometheus is configured",
                "set prometheus: {url: http://HOST:9090} in watchkeeper.yaml",
                f'SLO "{spec.name}"'))
    policies: list[RemediationPolicy] = []
    alert_rules: list[AlertRuleSpec] = []
    routing: Routing | None = None
    drift_monitors: list[DriftMonitorSpec] = []
    for doc in docs:
        if is_slo_document(doc):
            continue
        parse = KINDS.get(doc.kind)
        if parse is None:
            known = sorted({*KINDS, "SLO"})
            close = difflib.get_close_matches(doc.kind, known, n=1)
            hint = f'did you mean "{close[0]}"?' if close else "known kinds: " + ", ".join(
                known)
            errors.append(ConfigError(doc.where, "kind", f"unknown kind {doc.kind!r}", hint))
            continue
        spec = parse(doc, errors)
        if isinstance(spec, RemediationPolicy):
            policies.append(spec)
        elif isinstance(spec, AlertRuleGroup):
            alert_rules.extend(spec.rules)
        elif isinstance(spec, DriftMonitorSpec):
            drift_monitors.append(spec)
        elif isinstance(spec, Routing):
            if routing is not None:
                errors.append(ConfigError(doc.where, "kind", "a second AlertRouting document",
                                          f'merge it into AlertRouting "{routing.name}": one '
                                          "route tree routes every alert", doc.context))
                continue
            routing = spec
            _check_receivers(spec, config, doc, errors)
    ConfigErrors.raise_if_any(errors)
    return Rules(slos=tuple(slos), alert_rules=tuple(alert_rules), policies=tuple(policies),
                 routing=routing, drift_monitors=tuple(drift_monitors))


def _check_receivers(routing: Routing, config: ServiceConfig, doc: Document,
                     errors: list[ConfigError]) -> None:
    """Report each receiver the route tree names that watchkeeper.yaml does not define."""
    known = [r.name for r in config.receivers]
    for name, where in routing.receivers():
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = (f'did you mean "{close[0]}"?' if close else
                    "receivers in watchkeeper.yaml: " + (", ".join(known) or "none"))
            errors.append(ConfigError(where, "receiver", f"unknown receiver {name!r}", hint,
                                      doc.context))


def load(config_path: Path) -> tuple[ServiceConfig, Rules]:
    """Load the service file and its rules folder, reporting every problem in both."""
    config, problems = read_service_config(config_path)
    rules = Rules()
    if config is not None:
        try:
            rules = load_rules(config, base=config_path.parent)
        except ConfigErrors as exc:
            problems.extend(exc.errors)
    ConfigErrors.raise_if_any(problems)
    assert config is not None
    return config, rules


def _build_notifier(receiver: ReceiverConfig, external_url: str) -> Notifier:
    """Build the notifier of one configured receiver (secrets stay Secret objects)."""
    name, kind = receiver.name, receiver.type
    if kind == "slack":
        assert receiver.token is not None
        return notifiers.create("slack", name=name, channel=receiver.channel,
                                token=receiver.token, base_url=receiver.base_url)
    if kind == "slack-webhook":
        assert receiver.url is not None
        return notifiers.create("slack-webhook", name=name, url=receiver.url)
    if kind == "pagerduty":
        assert receiver.routing_key is not None
        return notifiers.create("pagerduty", name=name, routing_key=receiver.routing_key,
                                url=receiver.url.reveal() if receiver.url else "")
    if kind == "webhook":
        assert receiver.url is not None
        return notifiers.create("webhook", name=name, url=receiver.url.reveal(),
                                bearer_token=receiver.token, external_url=external_url)
    if kind == "alertmanager":
        assert receiver.url is not None
        return notifiers.create("alertmanager", name=name, url=receiver.url.reveal(),
                                bearer_token=receiver.token)
    return notifiers.create("console", name=name, path=receiver.path)


class Watchkeeper:
    """Every engine of one service, built from its configuration."""

    def __init__(self, config: ServiceConfig, rules: Rules, *, clock: Clock | None = None,
                 extra_notifiers: dict[str, Notifier] | None = None,
                 extra_backends: dict[str, RemediationBackend] | None = None,
                 database: Database | None = None) -> None:
        self.config, self.rules = config, rules
        self.clock = clock or SystemClock()
        self.db = database or Database(config.database_url)
        self.samples, self.targets = SampleStore(self.db), TargetStore(self.db)
        self.alerts, self.outbox = AlertStore(self.db), OutboxStore(self.db)
        self.runs, self.registry = RunStore(self.db), ModelRegistry(self.db)
        self.scraper = ScrapeManager(config.targets, samples=self.samples,
                                     targets_store=self.targets,
                                     concurrency=config.scrape_concurrency, clock=self.clock)
        self.rollups = RollupStore(self.db)
        sources: dict[SourceKind, SLISource] = {
            SourceKind.STORE: sli_sources.create("store", self.samples, self.rollups)}
        if config.prometheus_url:
            sources[SourceKind.PROMETHEUS] = sli_sources.create("prometheus",
                                                                config.prometheus_url)
        self.slo = SLOEvaluator(specs=rules.slos, sources=sources, clock=self.clock)
        self.alert_rules = AlertRuleEvaluator(rules=rules.alert_rules, samples=self.samples,
                                              clock=self.clock)
        self.state = AlertStateMachine(store=self.alerts)
        self.silences = SilenceStore(self.db)
        self.router = Router(routes=[Route(receiver=r.name, severities=r.severities)
                                     for r in config.receivers],
                             outbox=self.outbox, base_url=self.base_url,
                             silencer=Silencer(self.silences, self.clock))
        self.groups = GroupStore(self.db)
        self.dispatcher: Dispatcher | None = None
        if rules.routing is not None:
            self.dispatcher = Dispatcher(routing=rules.routing, alerts=self.alerts,
                                         groups=self.groups, outbox=self.outbox,
                                         clock=self.clock, base_url=self.base_url,
                                         silences=self.silences)
        built = {r.name: _build_notifier(r, self.base_url) for r in config.receivers}
        built.update(extra_notifiers or {})
        self.notifiers = built
        self.delivery = DeliveryWorker(outbox=self.outbox, notifiers=built, clock=self.clock,
                                       fallback_receiver=config.fallback_receiver or None)
        available: dict[str, RemediationBackend] = {
            "local": backends.create("local",
                                     deploy_urls=dict(config.local_backend.deploy_urls)),
            "dry-run": backends.create("dry-run"),
        }
        available.update(extra_backends or {})
        self.remediation = RemediationEngine(
            policies=rules.policies, backends=available, runs=self.runs,
            registry=self.registry, clock=self.clock, worker_id=f"{socket.gethostname()}")

    @property
    def base_url(self) -> str:
        """Return the URL people reach this service at (for runbook links)."""
        if self.config.external_url:
            return self.config.external_url.rstrip("/")
        return f"http://{self.config.listen_host}:{self.config.listen_port}"

    @classmethod
    def from_file(cls, config_path: Path, *, clock: Clock | None = None) -> Watchkeeper:
        """Load configuration and rules from *config_path* and build the service."""
        config, rules = load(config_path)
        return cls(config, rules, clock=clock)

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()
