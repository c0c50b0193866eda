"""The office's queue of stamp requests: waiting ones first, with the names a person reads.

Reads only. The decisions themselves (approve, reject) are ``services.stamp_requests``; this
module only lists and shows requests with their producer, product and lot, cut to the caller's
province by the one scope rule (``services.scope``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.schemas.stamp_requests import RequestState
from stamp_service.services import stamp_requests
from stamp_service.services.certificates import current_certificate
from stamp_service.services.scope import scoped
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import StampRequest

PER_PAGE = 50


@dataclass(frozen=True)
class QueueRow:
    request: StampRequest
    producer_name: str
    product_name: str
    lot_code: str


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class RequestView:
    request: StampRequest
    producer: Producer
    product: Product
    lot: Lot
    certificate: Certificate
    current_certificate_id: int | None  # the product's certificate in force now (withdraw/reduce it)


def _named() -> Select[StampRequest, str, str, str]:
    return (
        select(StampRequest, Producer.name, Product.name, Lot.lot_code)
        .join(Producer, Producer.id == StampRequest.producer_id)
        .join(Product, Product.id == StampRequest.product_id)
        .join(Lot, Lot.id == StampRequest.lot_id)
    )


def _count(session: Session, actor: Principal, *conditions: ColumnElement[bool]) -> int:
    stmt = scoped(select(func.count(StampRequest.id)), actor, StampRequest.producer_id)
    return int(session.scalar(stmt.where(*conditions)) or 0)


def queue(session: Session, actor: Principal, *, state: RequestState | None = None, page: int = 1) -> Queue:
    """Requests of the caller's province: waiting ones first (oldest first), then the newest first.

    Two slices in primary-key order (waiting ascending, the rest descending) instead of one sort
    over every request, so a late page of a large province stays cheap.
    """
    require_role(actor, Role.ADMIN)
    page = max(1, page)
    offset = (page - 1) * PER_PAGE
    named = scoped(_named(), actor, StampRequest.producer_id)
    if state is not None:
        where = StampRequest.state == state.value
        total = _count(session, actor, where)
        order = StampRequest.id.asc() if state is RequestState.REQUESTED else StampRequest.id.desc()
        slices = [named.where(where).order_by(order).limit(PER_PAGE).offset(offset)]
    else:
        is_waiting = StampRequest.state == "requested"
        n_waiting = _count(session, actor, is_waiting)
        total = _count(session, actor)  # one index-only count; the rest is total - waiting
        slices = []
        if offset < n_waiting:
            waiting = named.where(is_waiting).order_by(StampRequest.id.asc())
            slices.append(waiting.limit(PER_PAGE).offset(offset))
        room = PER_PAGE - max(0, min(PER_PAGE, n_waiting - offset))
        if room > 0:
            others = named.where(StampRequest.state != "requested").order_by(StampRequest.id.desc())
            slices.append(others.limit(room).offset(max(0, offset - n_waiting)))
    rows = [QueueRow(r[0], r[1], r[2], r[3]) for part in slices for r in session.execute(part)]
    return Queue(rows, page, PER_PAGE, total)


def request_view(session: Session, actor: Principal, request_id: int) -> RequestView:
    """One request with its records; NotFound outside the caller's province (the one access check)."""
    require_role(actor, Role.ADMIN)
    request = stamp_requests.get_request(session, actor, request_id)
    product = session.get(Product, request.product_id)
    producer = session.get(Producer, request.producer_id)
    lot = session.get(Lot, request.lot_id)
    certificate = session.get(Certificate, request.certificate_id)
    assert product is not None and producer is not None and lot is not None and certificate is not None
    current = current_certificate(session, product.id)
    return RequestView(request, producer, product, lot, certificate, current.id if current else None)
