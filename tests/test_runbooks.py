"""Every shipped alert links a runbook page that exists; every page has the five sections.

The alerts are found where they come from: ``runbook_url`` in every shipped YAML file
(``rules/``, the demo's files), the signals the SLO engine gives for the shipped SLOs and
for a small SLO with every optional alert enabled, the annotations of shipped alert
rules, and the ``NotifierFailing`` alert of the delivery worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.alerting.delivery import NOTIFIER_FAILING, DeliveryWorker
from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.config import ReceiverConfig, ServiceConfig
from monitor.core.model import Labels, Notification, NotificationStatus, Signal
from monitor.core.time import FakeClock
from monitor.service.api import RUNBOOKS as SERVED_RUNBOOKS
from monitor.service.assembly import Watchkeeper, load_rules
from monitor.slo.signals import DEFAULT_RUNBOOK_URL
from monitor.store import Database
from monitor.store.outbox import OutboxStore, dedup_key

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = ROOT / "runbooks"
SECTIONS = ("What it means", "How to confirm", "How to mitigate", "How to roll back",
            "Escalation")
# the receivers the shipped service files define, as the shipped AlertRouting names them
RECEIVERS = tuple(ReceiverConfig(name=name, type="console") for name in ("console", "oncall-slack"))
SHIPPED_YAML = (ROOT / "rules", ROOT / "monitor" / "demo" / "files")
RULE_FOLDERS = (ROOT / "rules" / "examples", ROOT / "monitor" / "demo" / "files" / "rules")
T0 = datetime(2026, 7, 1, tzinfo=UTC)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")

TINY_SLO = """\
apiVersion: watchkeeper.dev/v1
kind: SLO
metadata: {name: tiny}
spec:
  service: tiny-model
  objective: 99
  window: 7d
  sli:
    events:
      bad: 'tiny_requests_total{code=~"5.."}'
      total: 'tiny_requests_total'
  alerting:
    no_data: {enabled: true, after: 5m}
    exhaustion: {enabled: true, within: 3d}
"""
#: Each built-in alert and the page it must link.
OWN_PAGES = {
    "SLOBurnRate": "slo-burn.md",
    "SLOBurnRateNoData": "slo-no-data.md",
    "SLOBurnRateBudgetExhaustion": "slo-budget-exhaustion.md",
    NOTIFIER_FAILING: "notifier-failing.md",
}


def _pages() -> list[Path]:
    return sorted(RUNBOOKS.glob("*.md"))


def page_of(url: str) -> str:
    """Return the page a ``runbook_url`` names (``runbooks/x.md`` → ``x.md``), or ``""``."""
    head, sep, name = url.rpartition("runbooks/")
    if not sep or "/" in name or not name.endswith(".md"):
        return ""
    return name if head == "" or "://" in head or head.endswith("/") else ""


def _walk(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "runbook_url" and isinstance(value, str):
                yield value
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _yaml_links() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for folder in SHIPPED_YAML:
        for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                found.extend((str(path.relative_to(ROOT)), url) for url in _walk(doc))
    return found


def _signals(rules_dir: Path, tmp_path: Path) -> list[Signal]:
    """Evaluate the SLOs of *rules_dir* over an empty store, as the service would."""
    db = Database(f"sqlite:///{tmp_path / 'runbooks.db'}")
    db.upgrade()
    config = ServiceConfig(source="test", rules_dir=rules_dir, database_url=db.url,
                           receivers=RECEIVERS)
    try:
        app = Watchkeeper(config, load_rules(config), clock=FakeClock(T0), database=db)
        return list(app.slo.evaluate(T0).signals)
    finally:
        db.dispose()


def _notifier_failing(tmp_path: Path) -> Notification:
    db = Database(f"sqlite:///{tmp_path / 'outbox.db'}")
    db.upgrade()
    try:
        outbox = OutboxStore(db)
        worker = DeliveryWorker(outbox=outbox, clock=FakeClock(T0), fallback_receiver="oncall",
                                fallback_after=1, notifiers={
                                    "chat": RecordingNotifier(name="chat", fail_times=1),
                                    "oncall": RecordingNotifier(name="oncall")})
        labels = Labels({"alertname": "Any", "severity": "page"})
        outbox.enqueue(Notification(
            dedup_key=dedup_key("chat", labels.fingerprint(), T0, NotificationStatus.FIRING),
            receiver="chat", status=NotificationStatus.FIRING,
            alert_fingerprint=labels.fingerprint(), alert_name="Any", labels=labels,
            annotations={}, value=1.0, starts_at=T0), T0)
        worker.deliver_due()
        (entry,) = [e for e in outbox.list() if e.notification.alert_name == NOTIFIER_FAILING]
        return entry.notification
    finally:
        db.dispose()


# -- the pages -------------------------------------------------------------------------------
def test_the_api_serves_this_folder() -> None:
    assert SERVED_RUNBOOKS == RUNBOOKS


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_every_page_has_a_title_and_the_five_sections(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# "), f"{page.name}: start with a '# Title' line"
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == list(SECTIONS), f"{page.name}: sections must be {SECTIONS}"
    for section, body in zip(SECTIONS, re.split(r"^## .+$", text, flags=re.MULTILINE)[1:],
                             strict=True):
        assert len(body.split()) >= 15, f"{page.name}: section {section!r} says too little"


def test_links_between_pages_resolve_and_every_page_is_reachable() -> None:
    linked = {page_of(url) for _, url in _yaml_links()} | {page_of(DEFAULT_RUNBOOK_URL)}
    linked |= set(OWN_PAGES.values()) | {"alert-rule.md"}
    for page in _pages():
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (RUNBOOKS / target).is_file(), f"{page.name} links {target}, which is missing"
            linked.add(target)
    unreachable = sorted(p.name for p in _pages() if p.name not in linked)
    assert unreachable == [], "pages no alert and no other page links to"


# -- the alerts ------------------------------------------------------------------------------
def test_every_runbook_url_in_shipped_files_names_a_page() -> None:
    links = _yaml_links()
    assert links, "the shipped rules link no runbook at all"
    for where, url in links:
        page = page_of(url)
        assert page, f"{where}: runbook_url {url!r} is not runbooks/NAME.md"
        assert (RUNBOOKS / page).is_file(), f"{where}: runbook_url {url!r}: no runbooks/{page}"


@pytest.mark.parametrize("folder", RULE_FOLDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_alert_of_the_shipped_rules_links_an_existing_page(folder: Path,
                                                                 tmp_path: Path) -> None:
    signals = _signals(folder, tmp_path)
    config = ServiceConfig(source="test", rules_dir=folder, receivers=RECEIVERS)
    rules = load_rules(config).alert_rules
    assert signals or rules, f"{folder}: no alert found"
    links = [(s.name, s.annotations.get("runbook_url", "")) for s in signals]
    links += [(r.name, str(r.annotations.get("runbook_url", ""))) for r in rules]
    for name, url in links:
        assert url, f"{folder.name}: alert {name} has no runbook_url"
        assert (RUNBOOKS / page_of(url)).is_file(), f"alert {name}: no page for {url!r}"


def test_the_default_slo_runbook_exists() -> None:
    assert (RUNBOOKS / page_of(DEFAULT_RUNBOOK_URL)).is_file()


@pytest.fixture(scope="module")
def built_in_links(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Return the ``runbook_url`` of each built-in alert, by alert name."""
    tmp = tmp_path_factory.mktemp("built-in")
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "tiny.yaml").write_text(TINY_SLO, encoding="utf-8")
    links = {s.name: s.annotations.get("runbook_url", "") for s in _signals(rules, tmp)}
    links[NOTIFIER_FAILING] = _notifier_failing(tmp).annotations.get("runbook_url", "")
    return links


@pytest.mark.parametrize(("alert", "page"), sorted(OWN_PAGES.items()))
def test_each_built_in_alert_links_its_own_page(built_in_links: dict[str, str], alert: str,
                                               page: str) -> None:
    assert alert in built_in_links, f"{alert} was not raised; known: {sorted(built_in_links)}"
    url = built_in_links[alert]
    assert page_of(url) == page, f"alert {alert} links {url!r}; it must link runbooks/{page}"
    assert (RUNBOOKS / page).is_file()


@pytest.mark.parametrize(("url", "page"), [
    ("runbooks/slo-burn.md", "slo-burn.md"),
    ("http://wk:9464/runbooks/slo-burn.md", "slo-burn.md"),
    ("https://runbooks.example.com/churn-errors", ""),
    ("runbooks/sub/page.md", ""),
    ("myrunbooks/x.md", ""),
    ("runbooks/x.txt", ""),
])
def test_page_of_reads_only_links_into_the_runbooks_folder(url: str, page: str) -> None:
    assert page_of(url) == page
