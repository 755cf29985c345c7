"""SQLAlchemy 2.0 tables. Times are stored as Unix seconds (``Float``) on every database."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActionRunRow",
    "AlertGroupRow",
    "AlertRow",
    "AlertTransitionRow",
    "AuditEventRow",
    "BaselineRow",
    "DriftRunRow",
    "Base",
    "ModelAliasRow",
    "ModelVersionRow",
    "OutboxRow",
    "RollupProgressRow",
    "RollupRow",
    "SampleRow",
    "SeriesRow",
    "SilenceRow",
    "TargetRow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=_NAMING)


class SeriesRow(Base):
    """One time series: a metric name and a label set."""

    __tablename__ = "series"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric: Mapped[str] = mapped_column(String(200), index=True)
    labels: Mapped[str] = mapped_column(Text)  # JSON object, keys sorted
    fingerprint: Mapped[str] = mapped_column(String(32), unique=True)


class SampleRow(Base):
    """One raw sample."""

    __tablename__ = "samples"
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"),
                                           primary_key=True)
    ts: Mapped[float] = mapped_column(Float, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class TargetRow(Base):
    """The health of one scrape target as of its last scrape."""

    __tablename__ = "targets"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    up: Mapped[bool] = mapped_column(Boolean)
    last_scrape: Mapped[float] = mapped_column(Float)
    duration_seconds: Mapped[float] = mapped_column(Float)
    samples_scraped: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class AlertRow(Base):
    """The current state of one alert."""

    __tablename__ = "alerts"
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    labels: Mapped[str] = mapped_column(Text)
    annotations: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200), default="")
    active_since: Mapped[float | None] = mapped_column(Float, nullable=True)
    fired_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)
    keep_firing_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class AlertTransitionRow(Base):
    """One change of an alert's state."""

    __tablename__ = "alert_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)


class OutboxRow(Base):
    """One notification waiting for, or done with, delivery."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    receiver: Mapped[str] = mapped_column(String(200))
    alert_fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON of the Notification
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    external_ref: Mapped[str] = mapped_column(Text, default="")
    claimed_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class ActionRunRow(Base):
    """One remediation action run and where it stands."""

    __tablename__ = "action_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    policy: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(32))
    backend: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    alert_fingerprint: Mapped[str] = mapped_column(String(32), default="")
    alert_name: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    outputs: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    lease_owner: Mapped[str] = mapped_column(String(200), default="")
    lease_expires: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuditEventRow(Base):
    """Who or what did what to an action run, and why."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_runs.id"), nullable=True,
                                               index=True)
    at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="{}")


class ModelVersionRow(Base):
    """One registered version of a model."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(100))
    artifact: Mapped[str] = mapped_column(Text)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[float] = mapped_column(Float)


class ModelAliasRow(Base):
    """A named pointer (``production``, ``previous``) to a model version."""

    __tablename__ = "model_aliases"
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[float] = mapped_column(Float)


class RollupRow(Base):
    """One series' samples summarised over one bucket ``(end_ts - step, end_ts]``.

    ``stitch`` is the counter growth from the previous stored bucket's last sample to this
    bucket's first; the ``cum_*`` columns are running totals over the series' buckets of this
    step up to and including this one, so any run of buckets is two rows apart.
    """

    __tablename__ = "rollups"
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"),
                                           primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)  # seconds
    end_ts: Mapped[float] = mapped_column(Float, primary_key=True)
    sample_count: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)
    positive: Mapped[int] = mapped_column(Integer)
    increase: Mapped[float] = mapped_column(Float)
    first_ts: Mapped[float] = mapped_column(Float)
    first_value: Mapped[float] = mapped_column(Float)
    last_ts: Mapped[float] = mapped_column(Float)
    last_value: Mapped[float] = mapped_column(Float)
    stitch: Mapped[float] = mapped_column(Float)
    cum_increase: Mapped[float] = mapped_column(Float)
    cum_count: Mapped[int] = mapped_column(Integer)
    cum_total: Mapped[float] = mapped_column(Float)
    cum_positive: Mapped[int] = mapped_column(Integer)


class RollupProgressRow(Base):
    """How far rollups of one step reach: complete buckets in ``(kept_from, done_until]``."""

    __tablename__ = "rollup_progress"
    step: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kept_from: Mapped[float] = mapped_column(Float)
    done_until: Mapped[float] = mapped_column(Float)


class SilenceRow(Base):
    """One silence: matchers (JSON) that mute alerts between ``starts_at`` and ``ends_at``."""

    __tablename__ = "silences"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    matchers: Mapped[str] = mapped_column(Text)  # JSON list of {name, value, isRegex, isEqual}
    starts_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float, index=True)
    created_by: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)


class AlertGroupRow(Base):
    """One aggregation group of an ``AlertRouting`` route: what its receiver was last told.

    ``key`` is a hash of the route and the group's label values; ``notified`` the
    fingerprints of the alerts the last notification reported as firing (JSON list).
    An episode starts when the group gets its first alert and ends when every alert
    it reported has been reported resolved; then the row is deleted.
    """

    __tablename__ = "alert_groups"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    receiver: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(Text)
    group_key: Mapped[str] = mapped_column(Text)
    group_labels: Mapped[str] = mapped_column(Text)  # JSON object
    episode_started_at: Mapped[float] = mapped_column(Float)
    next_flush_at: Mapped[float] = mapped_column(Float, index=True)
    last_notified_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    flushes: Mapped[int] = mapped_column(Integer, default=0)
    notified: Mapped[str] = mapped_column(Text, default="[]")
    first_key: Mapped[str] = mapped_column(String(200), default="")


class BaselineRow(Base):
    """One version of a drift monitor's baseline profile (the profile's own bytes)."""

    __tablename__ = "drift_baselines"
    __table_args__ = (UniqueConstraint("monitor", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    profile: Mapped[bytes] = mapped_column(LargeBinary)


class DriftRunRow(Base):
    """One drift check of a monitor over one capture window, with its report (JSON)."""

    __tablename__ = "drift_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str] = mapped_column(String(200))
    baseline_version: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[float] = mapped_column(Float)
    window_end: Mapped[float] = mapped_column(Float)
    rows: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    drifted: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    report: Mapped[str] = mapped_column(Text)


Index("ix_samples_ts", SampleRow.ts)
Index("ix_rollups_step_end_ts", RollupRow.step, RollupRow.end_ts)
