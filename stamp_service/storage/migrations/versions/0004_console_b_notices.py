"""Notices already sent by the notifier (new stamp requests, certificates expiring), one row per channel.

Revision ID: 0004_console_b
Revises: 0004_gs1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stamp_service.storage.models.base import UtcDateTime

revision = "0004_console_b"
down_revision = "0004_gs1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices_sent",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "channel", name=op.f("pk_notices_sent")),
    )


def downgrade() -> None:
    op.drop_table("notices_sent")
