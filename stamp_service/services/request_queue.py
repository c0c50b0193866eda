"""The office's queue of stamp requests: waiting ones first, with the names a person reads.

Reads only. The decisions themselves (approve, reject) are ``services.stamp_requests``; this
module only lists and shows requests with their producer, product and lot, cut to the caller's
province by the one scope rule (``services.scope``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
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


def queue(session: Session, actor: Principal, *, state: RequestState | None = None, page: int = 1) -> Queue:
    """Requests of the caller's province, waiting ones first (oldest first), then the newest."""
    require_role(actor, Role.ADMIN)
    stmt = scoped(
        select(StampRequest, Producer.name, Product.name, Lot.lot_code)
        .join(Producer, Producer.id == StampRequest.producer_id)
        .join(Product, Product.id == StampRequest.product_id)
        .join(Lot, Lot.id == StampRequest.lot_id),
        actor,
        StampRequest.producer_id,
    )
    if state is not None:
        stmt = stmt.where(StampRequest.state == state.value)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    waiting_first = case((StampRequest.state == "requested", 0), else_=1)
    ordered = stmt.order_by(
        waiting_first,
        case((StampRequest.state == "requested", StampRequest.id), else_=-StampRequest.id),
    )
    page = max(1, page)
    rows = session.execute(ordered.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return Queue([QueueRow(r[0], r[1], r[2], r[3]) for r in rows], page, PER_PAGE, total)


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
