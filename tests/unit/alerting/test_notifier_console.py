"""The console notifier: Slack-shaped text to a stream or appended to a file."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerting.notifiers import ConsoleNotifier, notifiers
from monitor.core.errors import DeliveryError
from monitor.core.model import Labels, Notification, NotificationStatus
from tests.fakes.alert_groups import grouped, member

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _note(status: NotificationStatus = NotificationStatus.FIRING) -> Notification:
    return Notification(
        dedup_key=f"console/f00d/1772366400/{status}", receiver="console", status=status,
        alert_fingerprint="f00d", alert_name="FeatureDrift",
        labels=Labels({"severity": "ticket", "model": "churn", "feature": "tenure"}),
        annotations={"summary": "tenure drifted (PSI 0.31 > 0.2)", "psi": "0.31",
                     "runbook_url": "https://runbooks.example/drift.md"},
        value=0.31, starts_at=T0,
        ends_at=T0 + timedelta(hours=1) if status is NotificationStatus.RESOLVED else None)


def test_writes_a_readable_message_to_the_stream() -> None:
    out = io.StringIO()
    console = ConsoleNotifier(name="console", stream=out)
    delivery = console.send(_note())
    assert delivery.accepted and delivery.external_ref == "console:1"
    assert out.getvalue().splitlines()[1:] == [
        ":warning: FIRING: FeatureDrift",
        "tenure drifted (PSI 0.31 > 0.2)",
        "  Severity: ticket",
        "  Value: 0.31",
        "  psi: 0.31",
        "  Runbook: https://runbooks.example/drift.md",
        "  Started 2026-03-01 12:00 UTC · `feature=tenure` `model=churn` · fingerprint `f00d`",
    ]


def test_a_repeated_dedup_key_is_written_once() -> None:
    out = io.StringIO()
    console = ConsoleNotifier(name="console", stream=out)
    assert console.send(_note()) == console.send(_note())
    assert out.getvalue().count("FIRING: FeatureDrift") == 1


def test_stdout_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleNotifier(name="console").send(_note(NotificationStatus.RESOLVED))
    out = capsys.readouterr().out
    assert ":white_check_mark: RESOLVED: FeatureDrift" in out
    assert "Ended 2026-03-01 13:00 UTC" in out


def test_appends_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "alerts.log"
    path.write_text("earlier line\n", encoding="utf-8")
    console = ConsoleNotifier(name="console", path=str(path))
    console.send(_note())
    console.send(_note(NotificationStatus.RESOLVED))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("earlier line\n")
    assert text.index("FIRING: FeatureDrift") < text.index("RESOLVED: FeatureDrift")


def test_an_unwritable_path_is_a_non_retryable_error(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "alerts.log"
    console = ConsoleNotifier(name="ops-file", path=str(path))
    with pytest.raises(DeliveryError, match=r"console receiver 'ops-file': cannot append to "
                       r".*missing/alerts.log: No such file or directory; fix the receiver's "
                       r"path") as info:
        console.send(_note())
    assert info.value.retryable is False


def test_registered_as_console_and_checked_arguments() -> None:
    out = io.StringIO()
    built = notifiers.create("console", name="console", stream=out)
    assert isinstance(built, ConsoleNotifier)
    with pytest.raises(ValueError, match="console receiver 'c': give a path or a stream"):
        ConsoleNotifier(name="c", path="x.log", stream=out)
    with pytest.raises(ValueError, match="name must not be empty"):
        ConsoleNotifier(name="")


def test_a_group_is_written_as_a_header_then_its_alerts() -> None:
    def drift(feature: str, status: NotificationStatus, psi: float) -> Notification:
        return member("FeatureDrift", status, receiver="console", starts_at=T0, value=psi,
                      labels={"severity": "ticket", "model": "churn", "feature": feature},
                      annotations={"summary": f"{feature} drifted (PSI {psi})"})

    out = io.StringIO()
    group = grouped([drift("tenure", NotificationStatus.FIRING, 0.31),
                     drift("age", NotificationStatus.RESOLVED, 0.12)],
                    group_labels={"model": "churn"}, flush=2)
    ConsoleNotifier(name="console", stream=out).send(group)
    assert out.getvalue().splitlines()[1:] == [
        ":warning: [FIRING:1] FeatureDrift churn",
        "1 firing · 1 resolved",
        "-" * 40,
        ":warning: FeatureDrift FIRING `feature=tenure`",
        "tenure drifted (PSI 0.31)",
        "  Severity: ticket",
        "  Value: 0.31",
        "-" * 40,
        ":white_check_mark: FeatureDrift RESOLVED `feature=age`",
        "age drifted (PSI 0.12)",
        "Ended 2026-03-01 12:10 UTC",
        "  Severity: ticket",
        "  Value: 0.12",
        "  Started 2026-03-01 12:00 UTC · grouped by `model=churn` · group "
        '`{}:{model="churn"}`',
    ]
