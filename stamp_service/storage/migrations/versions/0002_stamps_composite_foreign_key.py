"""stamps: one composite foreign key to the request instead of three single-column ones

Revision ID: 0002
Revises: 0001

Why: PostgreSQL checks every foreign key of every copied row at the end of the issuance COPY;
three checks per stamp (request, product, lot) cost about a tenth of the issuance rate
(bench/issue.py). ``(request_id, product_id, lot_id)`` referencing the request's
``(id, product_id, lot_id)`` needs one check and is stricter: a stamp's product and lot must be
its request's, and the request's own keys still reach products and lots. On a large existing
``stamps`` table the new key is validated once during the upgrade (a full scan).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stamp_requests", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_stamp_requests_id_product_id_lot_id"), ["id", "product_id", "lot_id"]
        )
    with op.batch_alter_table("stamps", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_stamps_product_id_products"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_stamps_lot_id_lots"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_stamps_request_id_stamp_requests"), type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_stamps_request_product_lot",
            "stamp_requests",
            ["request_id", "product_id", "lot_id"],
            ["id", "product_id", "lot_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("stamps", schema=None) as batch_op:
        batch_op.drop_constraint("fk_stamps_request_product_lot", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_stamps_request_id_stamp_requests"), "stamp_requests", ["request_id"], ["id"]
        )
        batch_op.create_foreign_key(batch_op.f("fk_stamps_lot_id_lots"), "lots", ["lot_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_stamps_product_id_products"), "products", ["product_id"], ["id"])
    with op.batch_alter_table("stamp_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_stamp_requests_id_product_id_lot_id"), type_="unique")
