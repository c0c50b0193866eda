"""producer team: a producer account is its producer's administrator or a staff member

Existing producer accounts were made by the office and could do everything a producer may do:
they become administrators, so nothing they did before is refused now.

Revision ID: 0011_producer_team
Revises: 0009_producer
Create Date: 2026-12-03 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_producer_team"
down_revision = "0010_trgm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("producer_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))
    op.execute(sa.text("UPDATE accounts SET producer_admin = :yes WHERE role = 'producer'").bindparams(yes=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_accounts_producer_admin_is_producer"), "role = 'producer' OR NOT producer_admin"
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_producer_admin_is_producer"), type_="check")
        batch_op.drop_column("display_name")
        batch_op.drop_column("producer_admin")
