"""producer notices: when each producer account last opened its notices page

Revision ID: 0012_producer_notices
Revises: 0009_producer
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stamp_service.storage.models.base import UtcDateTime

revision = "0012_producer_notices"
down_revision = "0011_producer_team"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "producer_notice_reads",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_producer_notice_reads_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_producer_notice_reads")),
    )


def downgrade() -> None:
    op.drop_table("producer_notice_reads")
