"""Shared set-ups for the stamp request, print and issuance tests (real services, real keys)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import StampRequest
from tests.factories import Caller, make_caller, make_certificate, make_lot, make_producer, make_product


@dataclass
class Certified:
    producer: Producer
    product: Product
    certificate: Certificate
    lot: Lot
    caller: Caller  # a producer account of ``producer``


def certified(session: Session, *, lot_quantity: int = 100, **cert: Any) -> Certified:
    """A producer with a 4-star certified product, one lot, and a producer account."""
    producer = make_producer(session)
    product = make_product(session, producer.id)
    certificate = make_certificate(session, product.id, **cert)
    lot = make_lot(session, product.id, quantity=lot_quantity)
    return Certified(producer, product, certificate, lot, make_caller(session, Role.PRODUCER, producer.id))


def post_request(client: FlaskClient, caller: Caller, body: dict[str, Any], key: str | None = "auto") -> Any:
    headers = dict(caller.headers)
    if key is not None:
        headers["Idempotency-Key"] = uuid.uuid4().hex if key == "auto" else key
    return client.post("/api/v1/stamp-requests", json=body, headers=headers)


def approve(client: FlaskClient, admin: Caller, request_id: int, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1/stamp-requests/{request_id}/approve", json=body or {}, headers=admin.headers)


def request_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StampRequest)) or 0


def audit_count(session: Session, action: str) -> int:
    return session.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


def jwks_lookup(jwks: dict[str, Any]):  # type: ignore[no-untyped-def]
    """A ``public_key_lookup`` built only from the served JWKS JSON (not from the key ring)."""
    keys = {}
    for jwk in jwks["keys"]:
        assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        keys[bytes.fromhex(jwk["kid"])] = Ed25519PublicKey.from_public_bytes(raw)
    return keys.get


def expired_certificate_kwargs() -> dict[str, Any]:
    """A certificate signed 2021, valid 36 months: expired today."""
    return {"signed_on": "2021-06-01", "criteria_version": "1048/QĐ-TTg"}
