"""The office console's lot listing: lots with their product and producer names, paged by the database.

The API's ``lots.list_lots`` gives bare lots; the console's list shows whose each lot is, so it
selects the names in the same query (one query for the page, one count), within the caller's scope.
A narrow search (lot code or product name) is answered by trigram indexes (``_matching``).
Pages are keyset pages (newest first; ``after``/``before`` a lot id): the hundred-thousandth lot
costs what the first does, where an offset would walk every lot before it (bench/console.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.services.pagination import count
from stamp_service.services.scope import scoped
from stamp_service.storage.models.registry import Lot, Producer, Product

NARROW = 1000  # matches up to which a search lists ids found by the trigram indexes


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


COUNT_CAP = 1000
"""The lots list counts up to here: a province's 100,000 lots would cost a full index scan per page."""


@dataclass(frozen=True)
class LotPage:
    items: list[LotRow]
    total: int  # at most COUNT_CAP + 1: more than COUNT_CAP is shown as such
    has_newer: bool
    has_older: bool

    @property
    def total_capped(self) -> bool:
        return self.total > COUNT_CAP


def _matching(session: Session, q: str) -> Any:
    """The search's condition on the listing: lot code or product name contains ``q``.

    A narrow search (the usual: part of a lot code) first finds its lots and products by the
    trigram indexes (migration 0010_trgm), then lists those ids; one ``OR`` of two ``ILIKE`` across
    the joined tables would read every lot instead (bench/console.py). A broad one (more than
    ``NARROW`` matches, or under three letters, which no trigram index helps) keeps that ``OR``:
    it reads the lots once, where thousands of ids would cost more.
    """
    pattern = f"%{q}%"
    broad = Lot.lot_code.ilike(pattern) | Product.name.ilike(pattern)
    if len(q) < 3:
        return broad
    lots = session.scalars(select(Lot.id).where(Lot.lot_code.ilike(pattern)).limit(NARROW + 1)).all()
    products = session.scalars(select(Product.id).where(Product.name.ilike(pattern)).limit(NARROW + 1)).all()
    if len(lots) > NARROW or len(products) > NARROW:
        return broad
    return Lot.id.in_(lots) | Lot.product_id.in_(products)


def search_lots(
    session: Session,
    actor: Principal,
    *,
    q: str | None,
    per_page: int,
    after: int | None = None,
    before: int | None = None,
) -> LotPage:
    """The lots ``actor`` may see (lot code or product name contains ``q``), newest first: the first
    page, or the page of older lots ``after`` a lot id, or of newer lots ``before`` one."""
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
    # The count needs no producer names: one join less over every matching lot.
    counted = scoped(select(Lot.id).join(Product, Product.id == Lot.product_id), actor, Product.producer_id)
    stmt = scoped(stmt, actor, Product.producer_id)
    if q:
        matching = _matching(session, q)
        stmt, counted = stmt.where(matching), counted.where(matching)
    total = count(session, counted, cap=COUNT_CAP)
    if before is not None:
        rows = session.execute(stmt.where(Lot.id > before).order_by(Lot.id).limit(per_page + 1)).all()
        newer = len(rows) > per_page
        items = [LotRow(*r) for r in reversed(rows[:per_page])]
        return LotPage(items, total, has_newer=newer, has_older=True)
    if after is not None:
        stmt = stmt.where(Lot.id < after)
    rows = session.execute(stmt.order_by(Lot.id.desc()).limit(per_page + 1)).all()
    items = [LotRow(*r) for r in rows[:per_page]]
    return LotPage(items, total, has_newer=after is not None, has_older=len(rows) > per_page)
