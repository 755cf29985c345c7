"""drift baselines and runs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_baselines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("monitor", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_baselines")),
        sa.UniqueConstraint("monitor", "version",
                            name=op.f("uq_drift_baselines_monitor")),
    )
    with op.batch_alter_table("drift_baselines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_baselines_monitor"), ["monitor"],
                              unique=False)
    op.create_table(
        "drift_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("monitor", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("baseline_version", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("window_end", sa.Float(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("drifted", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_runs")),
    )
    with op.batch_alter_table("drift_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_runs_monitor"), ["monitor"], unique=False)
        batch_op.create_index(batch_op.f("ix_drift_runs_created_at"), ["created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drift_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_runs_created_at"))
        batch_op.drop_index(batch_op.f("ix_drift_runs_monitor"))
    op.drop_table("drift_runs")
    with op.batch_alter_table("drift_baselines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_baselines_monitor"))
    op.drop_table("drift_baselines")
