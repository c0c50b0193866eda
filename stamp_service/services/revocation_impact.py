"""How many stamps a revocation would reach: what a confirmation page shows before the office acts.

Reads only, with the same scope rule as the action itself (another province's record is
NotFound). The counts are of issued stamps (a request's ``issued_count``), so a page over a
large product costs one aggregate, never a scan of the stamp table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_certifying_level, require_read, require_role
from stamp_service.errors import Forbidden, NotFound
from stamp_service.services.certificates import current_certificate
from stamp_service.services.lookup import by_id
from stamp_service.services.minting import ISSUABLE_STATES
from stamp_service.services.scope import owner_of, owner_of_product
from stamp_service.storage.models.registry import Certificate, Lot, Product
from stamp_service.storage.models.stamps import StampRequest, StampVoid

T = TypeVar("T", Certificate, Lot)


@dataclass(frozen=True)
class Impact:
    stamps: int  # issued stamps the action reaches
    running_requests: int  # requests still issuing (or approved) that the action would stop


@dataclass(frozen=True)
class CertificateTarget:
    certificate: Certificate
    product: Product
    impact: Impact


@dataclass(frozen=True)
class LotTarget:
    lot: Lot
    product: Product
    impact: Impact


@dataclass(frozen=True)
class RangeTarget:
    request: StampRequest
    product: Product
    seq_from: int
    seq_to: int
    impact: Impact


def _impact(session: Session, where: object) -> Impact:
    issued, running = session.execute(
        select(
            func.coalesce(func.sum(StampRequest.issued_count), 0),
            func.count(StampRequest.id).filter(StampRequest.state.in_(ISSUABLE_STATES)),
        ).where(where)  # type: ignore[arg-type]
    ).one()
    return Impact(int(issued), int(running))


def _with_product(
    session: Session, actor: Principal, model: type[T], record_id: int, what: str
) -> tuple[T, Product]:
    """A certificate or lot the office may read, with its product (NotFound outside its scope)."""
    require_role(actor, Role.ADMIN)
    record = by_id(session, model, record_id)
    if record is None:
        raise NotFound(f"no such {what}")
    require_read(actor, owner_of_product(session, record.product_id), what)
    product = session.get(Product, record.product_id)
    assert product is not None
    return record, product


def certificate_target(session: Session, actor: Principal, certificate_id: int) -> CertificateTarget:
    """The certificate, its product and every issued stamp of that product (withdraw or reduce)."""
    cert, product = _with_product(session, actor, Certificate, certificate_id, "certificate")
    return CertificateTarget(cert, product, _impact(session, StampRequest.product_id == product.id))


def lot_target(session: Session, actor: Principal, lot_id: int) -> LotTarget:
    """The lot, its product and the lot's issued stamps (recall or lift)."""
    lot, product = _with_product(session, actor, Lot, lot_id, "lot")
    return LotTarget(lot, product, _impact(session, StampRequest.lot_id == lot.id))


def _request(session: Session, actor: Principal, request_id: int) -> StampRequest:
    """A stamp request the office may read (NotFound outside its scope)."""
    require_role(actor, Role.ADMIN)
    request = by_id(session, StampRequest, request_id)
    if request is None:
        raise NotFound("no such stamp request")
    require_read(actor, owner_of(session, request.producer_id), "stamp request")
    return request


def range_target(
    session: Session, actor: Principal, request_id: int, seq_from: int, seq_to: int
) -> RangeTarget:
    """Slots ``seq_from..seq_to`` of a request: only issued slots count (and can be voided)."""
    request = _request(session, actor, request_id)
    product = session.get(Product, request.product_id)
    assert product is not None
    last = min(seq_to, request.issued_count)
    stamps = max(0, last - seq_from + 1)
    return RangeTarget(request, product, seq_from, seq_to, Impact(stamps, 0))


def request_voids(session: Session, actor: Principal, request_id: int) -> list[StampVoid]:
    """The voided ranges of a request, newest first (the result page of a void)."""
    request = _request(session, actor, request_id)
    return list(
        session.scalars(
            select(StampVoid).where(StampVoid.request_id == request.id).order_by(StampVoid.id.desc())
        )
    )


def current_of(session: Session, certificate: Certificate) -> Certificate | None:
    """The product's certificate in force now (after a reduction, the new one)."""
    return current_certificate(session, certificate.product_id)


def successor_of(session: Session, certificate: Certificate) -> Certificate | None:
    """The certificate that superseded this one (None unless it is superseded)."""
    if certificate.state != "superseded":
        return None
    return session.scalars(
        select(Certificate).where(Certificate.supersedes_id == certificate.id).order_by(Certificate.id)
    ).first()


def may_revise_stars(actor: Principal, certificate: Certificate | None) -> bool:
    """Whether ``actor`` may withdraw or reduce ``certificate``: it is in force and of a level the
    actor certifies (a province cannot revise a central 5-star decision; the services refuse it too)."""
    if certificate is None or certificate.state != "active":
        return False
    try:
        require_certifying_level(actor, certificate.authority_level, stars=certificate.stars)
    except Forbidden:
        return False
    return True
