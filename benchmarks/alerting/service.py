"""Watchkeeper for the benchmark: the service's own objects, wired as ``serve`` wires them.

:func:`open_service` builds :class:`~monitor.service.assembly.Watchkeeper` and its
:class:`~monitor.service.loop.Loop` on a fresh database (SQLite in a temp folder, or a
schema of its own on PostgreSQL), with one ``AlertRule`` and the benchmark's route tree;
every receiver posts Alertmanager's webhook JSON to the stand-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from benchmarks.alerting.workload import receivers
from monitor.alerting.expr import parse_expr
from monitor.alerting.notifiers.webhook import WebhookNotifier, safe_url, webhook_message
from monitor.alerting.route_tree import Routing
from monitor.alerting.rules import AlertRuleSpec
from monitor.config.service import Intervals, ServiceConfig
from monitor.core.model import Delivery, Notification
from monitor.service.assembly import Rules, Watchkeeper
from monitor.service.loop import Loop
from monitor.store import Database

__all__ = ["LATENCY_RULE", "STEP_INTERVAL", "GroupWebhookNotifier", "latency_rule", "open_service"]

LATENCY_RULE = "ModelLatencyHigh"
STEP_INTERVAL = timedelta(milliseconds=100)


class GroupWebhookNotifier(WebhookNotifier):
    """The webhook notifier, posting every alert of a grouped notification.

    The shipped :class:`WebhookNotifier` posts a grouped notification as one alert
    carrying the group's common labels; Alertmanager posts the group's alerts. This
    posts :meth:`Notification.members` with the group's key and labels, so the stand-in
    can count every alert on both sides. Everything else (JSON shape, HTTP client,
    ``Idempotency-Key``) is the shipped notifier's.
    """

    def send(self, notification: Notification) -> Delivery:
        """POST *notification*'s alerts as one Alertmanager webhook message."""
        done = self._recent.get(notification.dedup_key)
        if done is not None:
            return done
        body = webhook_message(notification.members(),
                               receiver=notification.receiver or self.name,
                               external_url=self.external_url, max_alerts=self.max_alerts)
        if notification.group_key:
            body["groupKey"] = notification.group_key
            body["groupLabels"] = dict(notification.group_labels)
        response = self._http.post(body, headers={"Idempotency-Key": notification.dedup_key})
        delivery = Delivery(accepted=True, detail=f"HTTP {response.status_code} from "
                                                  f"{safe_url(self._http.url)}")
        self._recent.put(notification.dedup_key, delivery)
        return delivery


def latency_rule() -> AlertRuleSpec:
    """Return the threshold rule a breach trips: ``model_latency_seconds > 0.5``, for 0s."""
    return AlertRuleSpec(name=LATENCY_RULE, expr=parse_expr("model_latency_seconds > 0.5"),
                         labels={"severity": "page", "team": "ml"})


def _database(url: str | None, work: Path) -> tuple[Database, str | None]:
    """Return a fresh, migrated database (SQLite under *work* unless *url*) and its schema."""
    if url is None:
        work.mkdir(parents=True, exist_ok=True)
        db = Database(f"sqlite:///{work / f'bench-{uuid.uuid4().hex[:8]}.db'}")
        db.upgrade()
        return db, None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = Database(url)
    try:
        with admin.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    db = Database(url, schema=schema)
    db.upgrade()
    return db, schema


def _drop(db: Database, schema: str) -> None:
    db.dispose()
    admin = Database(db.url)
    try:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextmanager
def open_service(*, tree: Routing, receiver_url: str, work: Path,
                 database_url: str | None = None) -> Iterator[Loop]:
    """Yield the service's loop on a fresh database; its steps run every 100 ms if scheduled.

    The only alert rule is :func:`latency_rule`; every receiver of *tree* posts to
    *receiver_url* through a :class:`GroupWebhookNotifier`.
    """
    db, schema = _database(database_url, work)
    config = ServiceConfig(source="benchmarks/alerting", database_url=db.url,
                           intervals=Intervals(scrape=timedelta(hours=1),
                                               evaluation=STEP_INTERVAL,
                                               delivery=STEP_INTERVAL,
                                               remediation=timedelta(hours=1)))
    rules = Rules(alert_rules=(latency_rule(),), routing=tree)
    notifiers = {name: GroupWebhookNotifier(name=name, url=receiver_url)
                 for name in receivers()}
    app = Watchkeeper(config, rules, database=db, extra_notifiers=dict(notifiers))
    try:
        yield Loop(app)
    finally:
        for notifier in notifiers.values():
            notifier.close()
        if schema is not None:
            _drop(db, schema)
        else:
            app.close()
