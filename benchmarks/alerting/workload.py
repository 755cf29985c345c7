"""The workload both sides get: one route tree, the same alerts, the same receivers.

The tree is written once here and rendered twice: as Watchkeeper's
:class:`~monitor.alerting.route_tree.Routing` and as Alertmanager's ``route:`` section.
Every alert is taken by exactly one route (no ``continue``), so the alerts counted
across all webhook bodies add up to the alerts sent.

Alert *k* of *n* is ``alertname=BenchAlert<k % 100>``, ``model=model-<k // 100>``,
``severity`` ``page`` for every tenth alert name (``ticket`` otherwise) and ``team``
``ml`` for even models (``data`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import yaml

from monitor.alerting.route_tree import RouteNode, Routing, matchers_string
from monitor.alerting.silences import parse_silence_matchers
from monitor.core.model import Labels

__all__ = ["BRANCHES", "GROUP_INTERVAL", "GROUPINGS", "REPEAT_INTERVAL", "ROOT_RECEIVER",
           "Branch", "alert_labels", "alertmanager_config", "receivers", "routed_groups",
           "routing"]

ROOT_RECEIVER = "default"
GROUP_INTERVAL = timedelta(hours=1)  # no second flush while a run lasts
REPEAT_INTERVAL = timedelta(hours=24)
NAMES_PER_MODEL = 100
GROUPINGS: dict[str, tuple[str, ...]] = {"model": ("model",),
                                         "alertname,model": ("alertname", "model")}


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch:
    """One child route of the root: matchers (Alertmanager syntax) and a receiver."""

    receiver: str
    matchers: tuple[str, ...]


BRANCHES = (
    Branch(receiver="pager", matchers=('severity="page"',)),
    Branch(receiver="ml", matchers=('team="ml"',)),
    Branch(receiver="data", matchers=('team="data"', 'model=~"model-0[0-4].*"')),
)


def receivers() -> list[str]:
    """Return every receiver the tree names, the root's first."""
    return [ROOT_RECEIVER, *(b.receiver for b in BRANCHES)]


def alert_labels(k: int, *, prefix: str = "BenchAlert") -> dict[str, str]:
    """Return the labels of alert number *k* (``alertname`` included)."""
    name, model = k % NAMES_PER_MODEL, k // NAMES_PER_MODEL
    return {"alertname": f"{prefix}{name:03d}", "model": f"model-{model:03d}",
            "severity": "page" if name % 10 == 0 else "ticket",
            "team": "ml" if model % 2 == 0 else "data"}


def routing(group_by: tuple[str, ...], group_wait: timedelta = timedelta(0)) -> Routing:
    """Return the tree as Watchkeeper's routing, every route grouping by *group_by*.

    Built in Python rather than read from an ``AlertRouting`` file, because the file
    refuses ``group_wait: 0s`` (its durations must be positive).
    """
    children = []
    for index, branch in enumerate(BRANCHES):
        matchers = parse_silence_matchers(list(branch.matchers))
        children.append(RouteNode(
            receiver=branch.receiver, matchers=tuple(matchers), group_by=group_by,
            group_wait=group_wait, group_interval=GROUP_INTERVAL,
            repeat_interval=REPEAT_INTERVAL,
            key=f"{{}}/{matchers_string(matchers)}/{index}"))
    root = RouteNode(receiver=ROOT_RECEIVER, group_by=group_by, group_wait=group_wait,
                     group_interval=GROUP_INTERVAL, repeat_interval=REPEAT_INTERVAL,
                     routes=tuple(children))
    return Routing(name="bench", route=root)


def routed_groups(tree: Routing, count: int) -> int:
    """Return how many aggregation groups *count* alerts make in *tree*."""
    groups = set()
    for k in range(count):
        labels = Labels(alert_labels(k))
        for route in tree.route.match(labels):
            groups.add((route.key, route.group_labels(labels)))
    return len(groups)


def alertmanager_config(group_by: tuple[str, ...], url: str,
                        group_wait: timedelta = timedelta(0)) -> str:
    """Return ``alertmanager.yml`` for the same tree, every receiver posting to *url*."""
    def seconds(value: timedelta) -> str:
        return f"{int(value.total_seconds())}s"

    config = {
        "global": {"resolve_timeout": "1h"},  # pushed alerts stay firing while a run lasts
        "route": {
            "receiver": ROOT_RECEIVER, "group_by": list(group_by),
            "group_wait": seconds(group_wait), "group_interval": seconds(GROUP_INTERVAL),
            "repeat_interval": seconds(REPEAT_INTERVAL),
            "routes": [{"receiver": b.receiver, "matchers": list(b.matchers)}
                       for b in BRANCHES],
        },
        "receivers": [{"name": name, "webhook_configs": [
            {"url": url, "send_resolved": False, "max_alerts": 0}]} for name in receivers()],
    }
    return yaml.safe_dump(config, sort_keys=False)
