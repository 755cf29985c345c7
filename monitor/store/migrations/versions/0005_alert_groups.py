"""alert groups

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_groups",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("group_labels", sa.Text(), nullable=False),
        sa.Column("episode_started_at", sa.Float(), nullable=False),
        sa.Column("next_flush_at", sa.Float(), nullable=False),
        sa.Column("last_notified_at", sa.Float(), nullable=True),
        sa.Column("flushes", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Text(), nullable=False),
        sa.Column("first_key", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_groups")),
    )
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_groups_next_flush_at"), ["next_flush_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_groups_next_flush_at"))
    op.drop_table("alert_groups")
