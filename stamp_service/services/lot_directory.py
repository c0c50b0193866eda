"""The office console's lot listing: lots with their product and producer names, paged by the database.

The API's ``lots.list_lots`` gives bare lots; the console's list shows whose each lot is, so it
selects the names in the same query (one query for the page, one count), within the caller's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.schemas.common import Page
from stamp_service.services.pagination import paginate
from stamp_service.services.scope import scoped
from stamp_service.storage.models.registry import Lot, Producer, Product


@dataclass(frozen=True)
class LotRow:
    id: int
    lot_code: str
    production_date: date
    quantity: int
    unit: str
    recalled: bool
    product_id: int
    product_name: str
    producer_name: str


def search_lots(
    session: Session, actor: Principal, *, q: str | None, page: int, per_page: int
) -> Page[LotRow]:
    """One page of the lots ``actor`` may see (lot code or product name contains ``q``), newest first."""
    require_role(actor, Role.ADMIN)
    stmt = (
        select(
            Lot.id,
            Lot.lot_code,
            Lot.production_date,
            Lot.quantity,
            Lot.unit,
            Lot.recall.is_not(None),
            Product.id,
            Product.name,
            Producer.name,
        )
        .join(Product, Product.id == Lot.product_id)
        .join(Producer, Producer.id == Product.producer_id)
    )
    stmt = scoped(stmt, actor, Product.producer_id)
    if q:
        pattern = f"%{q}%"
        stmt = stmt.where(Lot.lot_code.ilike(pattern) | Product.name.ilike(pattern))
    return paginate(
        session, stmt.order_by(Lot.id.desc()), page, per_page, lambda row: LotRow(*row), rows=True
    )
