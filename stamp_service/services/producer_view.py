"""Read-only views for the producer pages that no other service gives: a request's voided ranges,
and the producer's products with their certificate validity, warnings and decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.domain.certification import CertificateStatus, local_today
from stamp_service.services import certificates, stamp_requests
from stamp_service.services.certificates import current_certificate
from stamp_service.services.scope import scoped
from stamp_service.storage.models.registry import Certificate, Lot, Product
from stamp_service.storage.models.stamps import StampVoid


def request_voids(session: Session, actor: Principal, request_id: int) -> list[StampVoid]:
    """The voided ranges of a request ``actor`` may read (NotFound otherwise)."""
    request = stamp_requests.get_request(session, actor, request_id)
    return list(
        session.scalars(
            select(StampVoid).where(StampVoid.request_id == request.id).order_by(StampVoid.seq_from)
        )
    )


# Certificate-expiry warnings on the producer's page (issue 11): 90 days ahead, urgent at 30.
WARN_DAYS = 90
URGENT_DAYS = 30


@dataclass(frozen=True)
class CertificateLine:
    certificate: Certificate
    status: CertificateStatus


@dataclass(frozen=True)
class ProductCard:
    """One product: its current certificate, how many days it stays valid, and its history."""

    product: Product
    current: CertificateLine | None
    days_left: int | None
    warning: str | None  # None, "soon" (<= 90 days), "urgent" (<= 30 days), "expired"
    history: list[CertificateLine]


def _warning(status: CertificateStatus, days_left: int) -> str | None:
    if status is CertificateStatus.EXPIRED or days_left < 0:
        return "expired"
    if status is not CertificateStatus.VALID:
        return None
    if days_left <= URGENT_DAYS:
        return "urgent"
    if days_left <= WARN_DAYS:
        return "soon"
    return None


def my_products(session: Session, actor: Principal, today: date | None = None) -> list[ProductCard]:
    """The producer's own products (a producer sees only its own), newest certificate first."""
    require_role(actor, Role.PRODUCER, Role.ADMIN)
    today = today or local_today()
    products = session.scalars(scoped(select(Product), actor, Product.producer_id).order_by(Product.name))
    cards = []
    for product in products:
        certs = list(
            session.scalars(
                select(Certificate)
                .where(Certificate.product_id == product.id)
                .order_by(Certificate.signed_on.desc(), Certificate.id.desc())
            )
        )
        history = [CertificateLine(c, certificates.status_of(c, today)) for c in certs]
        cert = current_certificate(session, product.id)
        current = next(
            (line for line in history if cert is not None and line.certificate.id == cert.id), None
        )
        days_left = (cert.valid_until - today).days if cert is not None else None
        warning = _warning(current.status, days_left) if current and days_left is not None else None
        cards.append(ProductCard(product, current, days_left, warning, history))
    return cards


def lot_choices(session: Session, actor: Principal) -> list[tuple[str, str]]:
    """The actor's lots as form choices ("product · lot code"), newest first."""
    rows = session.execute(
        scoped(select(Lot.id, Lot.lot_code, Product.name), actor, Product.producer_id)
        .join(Product, Product.id == Lot.product_id)
        .order_by(Lot.id.desc())
        .limit(500)
    )
    return [(str(lot_id), f"{name} · {code}") for lot_id, code, name in rows]
