"""trigram indexes for the console's lot search: lots.lot_code and products.name (pg_trgm, GIN)

``ILIKE '%text%'`` over 100,000 lots read every row (bench/console.py: p95 323 ms); a pg_trgm GIN
index answers it from the index. PostgreSQL only: the extension is created if missing (it ships
with PostgreSQL's contrib package). SQLite has no trigram index: a plain one keeps the schema
equal to the models.

Revision ID: 0010_trgm
Revises: 0009_producer
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_trgm"
down_revision = "0009_producer"
branch_labels = None
depends_on = None

INDEXES = (("ix_lots_lot_code_trgm", "lots", "lot_code"), ("ix_products_name_trgm", "products", "name"))


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        if postgres:
            op.create_index(
                name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
            )
        else:
            with op.batch_alter_table(table) as batch_op:
                batch_op.create_index(name, [column])


def downgrade() -> None:
    for name, table, _column in INDEXES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(name)
