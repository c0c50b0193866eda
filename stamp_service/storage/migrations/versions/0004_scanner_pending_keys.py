"""signing keys: a pending state (published in the JWKS and the bundle before it signs)

Revision ID: 0004_scanner
Revises: 0004_pub
"""

from __future__ import annotations

from alembic import op

revision = "0004_scanner"
down_revision = "0004_pub"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_signing_keys_state_known"), type_="check")
        batch_op.create_check_constraint("state_known", "state IN ('pending','active','retired','compromised')")


def downgrade() -> None:
    op.execute("DELETE FROM signing_keys WHERE state = 'pending'")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_signing_keys_state_known"), type_="check")
        batch_op.create_check_constraint("state_known", "state IN ('active','retired','compromised')")
