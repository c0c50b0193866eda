"""consumer reports: the problem "recalled goods still on sale" (recalled_sold)

Revision ID: 0004_pub
Revises: 0003
Create Date: 2026-12-03 15:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_pub"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD = "problem IN ('fake_stamp','fake_goods','expired_sold','no_stamp','other')"
NEW = "problem IN ('fake_stamp','fake_goods','expired_sold','no_stamp','recalled_sold','other')"


def _replace(condition: str) -> None:
    with op.batch_alter_table("consumer_reports", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consumer_reports_problem_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consumer_reports_problem_known"), condition)


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    op.execute("UPDATE consumer_reports SET problem = 'other' WHERE problem = 'recalled_sold'")
    _replace(OLD)
