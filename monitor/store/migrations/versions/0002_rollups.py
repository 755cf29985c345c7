"""rollups

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollups",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("increase", sa.Float(), nullable=False),
        sa.Column("first_ts", sa.Float(), nullable=False),
        sa.Column("first_value", sa.Float(), nullable=False),
        sa.Column("last_ts", sa.Float(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=False),
        sa.Column("stitch", sa.Float(), nullable=False),
        sa.Column("cum_increase", sa.Float(), nullable=False),
        sa.Column("cum_count", sa.Integer(), nullable=False),
        sa.Column("cum_total", sa.Float(), nullable=False),
        sa.Column("cum_positive", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_rollups_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "step", "end_ts", name=op.f("pk_rollups")),
    )
    with op.batch_alter_table("rollups", schema=None) as batch_op:
        batch_op.create_index("ix_rollups_step_end_ts", ["step", "end_ts"], unique=False)

    op.create_table(
        "rollup_progress",
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kept_from", sa.Float(), nullable=False),
        sa.Column("done_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("step", name=op.f("pk_rollup_progress")),
    )


def downgrade() -> None:
    op.drop_table("rollup_progress")
    with op.batch_alter_table("rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_rollups_step_end_ts")
    op.drop_table("rollups")
