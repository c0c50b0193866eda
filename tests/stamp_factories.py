"""Issued stamps for tests, through the real issuance engine and a real Ed25519 key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain.access import SYSTEM
from stamp_service.domain.stamp_format import stamp_url
from stamp_service.services import keys, minting
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.factories import make_certificate, make_lot, make_producer, make_product

BASE_URL = "https://TEM.OCOP.LOCAL"


def ensure_keyring(session: Session, keys_dir: Path) -> KeyRing:
    """A key ring over ``keys_dir`` with an active key (created if none is active)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    ring = KeyRing(keys_dir)
    ring.ensure_service_secret()
    if session.scalar(select(SigningKey).where(SigningKey.state == "active")) is None:
        keys.create(session, SYSTEM, keyring=ring)
    return ring


@dataclass
class IssuedBatch:
    producer: Producer
    product: Product
    certificate: Certificate
    lot: Lot
    request: StampRequest
    stamps: list[Stamp]
    tokens: list[str]

    @property
    def urls(self) -> list[str]:
        return [stamp_url(BASE_URL, t) for t in self.tokens]


def make_request(
    session: Session,
    *,
    producer: Producer,
    product: Product,
    certificate: Certificate,
    lot: Lot,
    quantity: int,
    with_pin: bool = False,
    state: str = "approved",
) -> StampRequest:
    request = StampRequest(
        producer_id=producer.id,
        product_id=product.id,
        lot_id=lot.id,
        certificate_id=certificate.id,
        stars_at_request=certificate.stars,
        quantity_requested=quantity,
        quantity_approved=quantity if state != "requested" else None,
        with_pin=with_pin,
        state=state,
    )
    session.add(request)
    session.commit()
    return request


def make_issued_batch(
    session: Session,
    keyring: KeyRing,
    *,
    n: int = 3,
    with_pin: bool = False,
    product_overrides: dict[str, Any] | None = None,
    certificate_overrides: dict[str, Any] | None = None,
    lot_overrides: dict[str, Any] | None = None,
) -> IssuedBatch:
    """Producer -> product -> certificate -> lot -> approved request -> n issued stamps."""
    producer = make_producer(session)
    product = make_product(session, producer.id, **(product_overrides or {}))
    certificate = make_certificate(session, product.id, **(certificate_overrides or {}))
    lot = make_lot(session, product.id, **({"quantity": max(n, 10)} | (lot_overrides or {})))
    request = make_request(
        session,
        producer=producer,
        product=product,
        certificate=certificate,
        lot=lot,
        quantity=n,
        with_pin=with_pin,
    )
    minting.issue_all(session, request_id=request.id, keyring=keyring)
    stamps = list(session.scalars(select(Stamp).where(Stamp.request_id == request.id).order_by(Stamp.seq)))
    return IssuedBatch(
        producer, product, certificate, lot, request, stamps, [minting.token_for(s) for s in stamps]
    )
