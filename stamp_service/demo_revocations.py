"""Demo revocations for the embedded default: a product whose stars were withdrawn and a recalled lot,
both with issued stamps, so that ``make run`` shows a revoked stamp online and in the bundle.

Idempotent (found by name and lot code), through the real services; runs after the registry
demo and the development key (``serve.EMBEDDED_STEPS``). Stamps are requested, approved and
issued through ``services.stamp_requests`` like ``demo_stamps`` (audited; a small request is
issued within the approval).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.demo import demo_lot_ids, demo_producer_id
from stamp_service.domain.access import SYSTEM
from stamp_service.domain.certification import local_today
from stamp_service.domain.stamp_format import stamp_url
from stamp_service.runtime import Runtime
from stamp_service.schemas.certificates import CertificateIn
from stamp_service.schemas.lots import LotIn
from stamp_service.schemas.products import ProductIn
from stamp_service.schemas.revocation import RecallIn, WithdrawalIn
from stamp_service.schemas.stamp_requests import ApproveIn, StampRequestIn
from stamp_service.services import (
    certificates,
    issuance_jobs,
    lots,
    minting,
    products,
    revocation,
    stamp_requests,
)
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.registry import Lot, Product
from stamp_service.storage.models.stamps import Stamp

WITHDRAWN_PRODUCT = "Bưởi Phúc Trạch sấy dẻo"
RECALLED_LOT = "PT-DEMO-RECALL"
STAMPS = 5


def _valid(model: Any, data: dict[str, Any]) -> Any:
    return model.model_validate_json(json.dumps(data, ensure_ascii=False))


def _issue(session: Session, runtime: Runtime, lot: Lot) -> None:
    """Request, approve and issue ``STAMPS`` stamps for ``lot`` (as the system account, audited)."""
    spare = runtime.settings.stamp_spare_percent
    created = stamp_requests.create_request(
        session,
        SYSTEM,
        StampRequestIn(lot_id=lot.id, quantity=STAMPS),
        idempotency_key=f"demo-revocations-{lot.id}",
        spare_percent=spare,
    )
    stamp_requests.approve(
        session,
        SYSTEM,
        created.request.id,
        ApproveIn(reason="demo"),
        spare_percent=spare,
        issuance=issuance_jobs.Issuance(runtime),
    )


def _lot(session: Session, product_id: int, code: str) -> Lot:
    made = local_today() - timedelta(days=9)
    return lots.create_lot(
        session,
        SYSTEM,
        _valid(
            LotIn,
            {
                "product_id": product_id,
                "lot_code": code,
                "production_date": made.isoformat(),
                "expiry_date": (made + timedelta(days=120)).isoformat(),
                "quantity": 400,
                "unit": "gói",
                "place": "Xưởng sơ chế HTX",
            },
        ),
    )


def _withdrawn_product(session: Session, runtime: Runtime, producer_id: int) -> Lot:
    product = session.scalar(select(Product).where(Product.name == WITHDRAWN_PRODUCT))
    if product is not None:
        lot = session.scalar(select(Lot).where(Lot.product_id == product.id))
        assert lot is not None
        return lot
    product_out = products.create_product(
        session,
        SYSTEM,
        _valid(
            ProductIn,
            {
                "producer_id": producer_id,
                "name": WITHDRAWN_PRODUCT,
                "short_name": "Bưởi sấy dẻo",
                "group_code": "1.1",
                "subgroup_code": "1.1.1",
                "standards": ["TCCS 03:2024/HTXPT"],
                "raw_material_communes": ["18418"],
                "description": "Múi bưởi sấy dẻo (demo: sao bị rút).",
            },
        ),
    )
    cert = certificates.create_certificate(
        session,
        SYSTEM,
        _valid(
            CertificateIn,
            {
                "product_id": product_out.id,
                "stars": 3,
                "score": 61,
                "criteria_version": "148/QĐ-TTg",
                "authority_name": "UBND tỉnh Hà Tĩnh",
                "authority_level": "province",
                "decision_number": "2291/QĐ-UBND",
                "signed_on": "2025-08-22",
            },
        ),
    )
    lot = _lot(session, product_out.id, "SD-DEMO-01")
    _issue(session, runtime, lot)
    revocation.withdraw_certificate(
        session,
        SYSTEM,
        cert.id,
        _valid(
            WithdrawalIn,
            {
                "decision": {
                    "number": "3763/QĐ-UBND",
                    "decided_on": (local_today() - timedelta(days=2)).isoformat(),
                    "authority": "UBND tỉnh Hà Tĩnh",
                },
                "reason": "Không duy trì hồ sơ truy xuất nguồn gốc; chất lượng không như khi công nhận",
            },
        ),
    )
    return lot


def _recalled_lot(session: Session, runtime: Runtime) -> Lot | None:
    lot = session.scalar(select(Lot).where(Lot.lot_code == RECALLED_LOT))
    if lot is not None:
        return lot
    ids = demo_lot_ids(session)
    if not ids:
        return None
    first = session.get(Lot, ids[0])
    assert first is not None
    cert = minting.current_certificate(session, first.product_id)
    if cert is None or cert.state != "active":
        return None
    lot = _lot(session, first.product_id, RECALLED_LOT)
    _issue(session, runtime, lot)
    revocation.recall_lot(
        session,
        SYSTEM,
        lot.id,
        _valid(
            RecallIn,
            {
                "reason": "Mẫu kiểm tra có dư lượng thuốc bảo vệ thực vật vượt ngưỡng",
                "decision": {
                    "number": "15/QĐ-CCATTP",
                    "decided_on": local_today().isoformat(),
                    "authority": "Chi cục An toàn vệ sinh thực phẩm Hà Tĩnh",
                },
            },
        ),
    )
    return lot


def _first_url(session: Session, runtime: Runtime, lot: Lot) -> str | None:
    stamp = session.scalar(select(Stamp).where(Stamp.lot_id == lot.id).order_by(Stamp.request_id, Stamp.seq))
    return stamp_url(runtime.settings.public_base_url, minting.token_for(stamp)) if stamp else None


def prepare(runtime: Runtime) -> Iterator[str]:
    with runtime.session_factory() as session:
        producer_id = demo_producer_id(session)
        if producer_id is None:
            return
        if session.scalar(select(SigningKey.kid).where(SigningKey.state == "active")) is None:
            yield "demo revocations skipped: no active signing key"
            return
        withdrawn = _withdrawn_product(session, runtime, producer_id)
        recalled = _recalled_lot(session, runtime)
        url = _first_url(session, runtime, withdrawn)
        if url:
            yield f"revoked demo stamp (stars withdrawn): {url}"
        if recalled is not None and (url := _first_url(session, runtime, recalled)):
            yield f"revoked demo stamp (lot recalled):     {url}"
