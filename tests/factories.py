"""Test data through the real services (validation and audit included)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.schemas.registry import LegalType, ProducerIn
from stamp_service.services import accounts, registry
from stamp_service.storage.models.registry import Producer

_seq = itertools.count(1)


@dataclass(frozen=True)
class Caller:
    """An account with its bearer token, ready for the test client."""

    account_id: int
    token: str
    producer_id: int | None = None
    token_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_caller(
    session: Session, role: Role, producer_id: int | None = None, province_code: str | None = None
) -> Caller:
    n = next(_seq)
    account = accounts.create_account(
        session,
        SYSTEM,
        name=f"{role.value}-{n}",
        role=role,
        producer_id=producer_id,
        province_code=province_code,
    )
    issued = accounts.issue_token(session, SYSTEM, account_id=account.id)
    return Caller(
        account_id=account.id, token=issued.token, producer_id=producer_id, token_id=issued.token_id
    )


def producer_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "name": f"HTX Nông nghiệp Phúc Trạch {n}",
        "legal_type": "cooperative",
        "registration_number": f"3001{n:06d}",
        "representative": "Nguyễn Văn An",
        "commune_code": "18418",
        "street": "Thôn 3",
        "phone": "0239 3871 234",
    }
    payload.update(overrides)
    return payload


def make_producer(session: Session, **overrides: Any) -> Producer:
    data = ProducerIn.model_validate_json(json.dumps(producer_payload(**overrides)))
    return registry.create_producer(session, SYSTEM, data)


__all__ = ["Caller", "LegalType", "make_caller", "make_producer", "producer_payload"]


# --- products, certificates, lots (registry) ---------------------------------------------


def gtin13(body12: str) -> str:
    """A valid GTIN-13 from its first 12 digits."""
    from stamp_service.domain.gs1 import gtin_check_digit

    return body12 + str(gtin_check_digit(body12))


def product_payload(producer_id: int, **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "producer_id": producer_id,
        "name": f"Bưởi Phúc Trạch loại {n}",
        "short_name": f"Bưởi Phúc Trạch {n}",
        "group_code": "1.1",
        "subgroup_code": "1.1.1",
        "standards": ["TCCS 01:2020/HTXPT"],
        "raw_material_communes": ["18418"],
    }
    payload.update(overrides)
    return payload


def make_product(session: Session, producer_id: int, **overrides: Any) -> Any:
    from stamp_service.schemas.products import ProductIn
    from stamp_service.services import products

    data = ProductIn.model_validate_json(json.dumps(product_payload(producer_id, **overrides)))
    return products.create_product(session, SYSTEM, data)


def certificate_payload(product_id: int, **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "product_id": product_id,
        "stars": 4,
        "score": 78,
        "criteria_version": "148/QĐ-TTg",
        "authority_name": "UBND tỉnh Hà Tĩnh",
        "authority_level": "province",
        "decision_number": f"{1000 + n}/QĐ-UBND",
        "signed_on": "2025-09-15",
    }
    payload.update(overrides)
    return payload


def make_certificate(session: Session, product_id: int, **overrides: Any) -> Any:
    from stamp_service.schemas.certificates import CertificateIn
    from stamp_service.services import certificates

    data = CertificateIn.model_validate_json(json.dumps(certificate_payload(product_id, **overrides)))
    return certificates.create_certificate(session, SYSTEM, data)


def lot_payload(product_id: int, **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "product_id": product_id,
        "lot_code": f"PT25-{n:04d}",
        "production_date": "2025-10-01",
        "expiry_date": "2025-12-01",
        "quantity": 500,
        "unit": "quả",
        "place": "Vườn HTX, thôn 3",
    }
    payload.update(overrides)
    return payload


def make_lot(session: Session, product_id: int, **overrides: Any) -> Any:
    from stamp_service.schemas.lots import LotIn
    from stamp_service.services import lots

    data = LotIn.model_validate_json(json.dumps(lot_payload(product_id, **overrides)))
    return lots.create_lot(session, SYSTEM, data)


def event_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event_type": "sourcing",
        "occurred_at": "2025-09-28T07:30:00+07:00",
        "place": "Vườn bưởi thôn 3, xã Phúc Trạch",
        "actor": "Tổ thu hái số 1",
        "documents": [{"name": "phieu-thu-hai.pdf", "sha256": "a" * 64}],
    }
    payload.update(overrides)
    return payload
