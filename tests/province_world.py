"""Two provinces' data (Hà Tĩnh 42, Thanh Hóa 38) and their accounts, for the province-scope tests.

Each province gets one record of every kind the API names by id (producer, product, certificate,
lot with an origin record, an issued stamp request, a waiting one, an auto-approval policy, a
voided stamp, a withdrawn product, a recalled lot, an inspector's finding, a consumer report), so
that every listing has rows from both and every path id has a target in each.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain import serials
from stamp_service.domain.access import SYSTEM, Principal, Role
from stamp_service.domain.certification import local_today
from stamp_service.schemas.findings import FindingIn, ProposalIn
from stamp_service.schemas.lots import TraceEventIn
from stamp_service.schemas.revocation import RecallIn, VoidIn, WithdrawalIn
from stamp_service.schemas.stamp_requests import PolicyIn
from stamp_service.services import findings, lots, minting, reports, revocation, stamp_requests
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.stamps import Stamp
from tests.factories import (
    Caller,
    event_payload,
    make_caller,
    make_certificate,
    make_lot,
    make_producer,
    make_product,
)
from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring, make_request

M = TypeVar("M", bound=BaseModel)
HA_TINH, THANH_HOA = "42", "38"
COMMUNES = {HA_TINH: "18418", THANH_HOA: "15112"}
AUTHORITY = {HA_TINH: "UBND tỉnh Hà Tĩnh", THANH_HOA: "UBND tỉnh Thanh Hóa"}


@dataclass
class ProvinceData:
    code: str
    commune: str
    admin: Caller
    inspector: Caller
    producer_id: int
    product_id: int
    certificate_id: int
    lot_id: int
    request_id: int  # issued (3 stamps, the third voided)
    pending_request_id: int  # waiting for the office
    serial: str  # printed serial of the first stamp
    finding_id: int
    proposed_finding_id: int  # its stamp's void is proposed, waiting for the office
    report_id: int
    ids: dict[str, set[int]]  # every id of each kind that belongs to this province


@dataclass
class World:
    provinces: dict[str, ProvinceData]
    central: Caller
    central_inspector: Caller
    kid: str


def _parse(model: type[M], data: dict[str, Any]) -> M:
    """As the API parses it (the input models are strict about enums and dates)."""
    return model.model_validate_json(json.dumps(data))


def _principal(caller: Caller, role: Role, province: str) -> Principal:
    return Principal(account_id=caller.account_id, name="inspector", role=role, province_code=province)


def _province(session: Session, code: str, keyring: Any) -> ProvinceData:
    commune, authority = COMMUNES[code], AUTHORITY[code]
    admin = make_caller(session, Role.ADMIN, province_code=code)
    inspector = make_caller(session, Role.INSPECTOR, province_code=code)
    producer = make_producer(session, commune_code=commune)
    product = make_product(session, producer.id, raw_material_communes=[commune])
    # Valid for 20 more days: in the 30-day expiring listing, still issuable.
    valid_until = (local_today() + timedelta(days=20)).isoformat()
    cert = make_certificate(session, product.id, authority_name=authority, valid_until=valid_until)
    lot = make_lot(session, product.id, quantity=20)
    lots.add_event(session, SYSTEM, lot.id, _parse(TraceEventIn, event_payload()))
    request = make_request(session, producer=producer, product=product, certificate=cert, lot=lot, quantity=3)
    minting.issue_all(session, request_id=request.id, keyring=keyring)
    stamps = list(session.scalars(select(Stamp).where(Stamp.request_id == request.id).order_by(Stamp.seq)))
    pending = make_request(
        session, producer=producer, product=product, certificate=cert, lot=lot, quantity=2, state="requested"
    )
    stamp_requests.set_policy(session, SYSTEM, producer.id, _parse(PolicyIn, {"max_quantity": 5}))
    revocation.void_stamps(
        session,
        SYSTEM,
        _parse(VoidIn, {"request_id": request.id, "seq_from": 3, "reason_code": "lost", "reason": "mất"}),
    )
    # A second product whose stars were withdrawn, and a recalled lot: the revocation reports.
    withdrawn = make_product(session, producer.id, raw_material_communes=[commune])
    withdrawn_cert = make_certificate(session, withdrawn.id, authority_name=authority)
    revocation.withdraw_certificate(
        session,
        SYSTEM,
        withdrawn_cert.id,
        _parse(WithdrawalIn, {"decision": decision(authority=authority), "reason": "vi phạm"}),
    )
    recalled = make_lot(session, product.id, quantity=5)
    revocation.recall_lot(session, SYSTEM, recalled.id, _parse(RecallIn, {"reason": "thu hồi lô"}))
    serial = serials.format_serial(serials.from_db(stamps[0].serial))
    finding = findings.record_finding(
        session,
        _principal(inspector, Role.INSPECTOR, code),
        _parse(
            FindingIn,
            {
                "client_id": uuid.uuid4().hex,
                "serial": serial,
                "verdict": "genuine",
                "shop": f"Cửa hàng đặc sản {code}",
                "observed_at": datetime.now(UTC).isoformat(),
            },
        ),
    ).finding
    proposed = findings.record_finding(
        session,
        _principal(inspector, Role.INSPECTOR, code),
        _parse(
            FindingIn,
            {
                "client_id": uuid.uuid4().hex,
                "serial": serials.format_serial(serials.from_db(stamps[1].serial)),
                "verdict": "suspicious",
                "shop": f"Chợ {code}",
                "observed_at": datetime.now(UTC).isoformat(),
            },
        ),
    ).finding
    findings.propose(
        session, SYSTEM, proposed.id, _parse(ProposalIn, {"action": "void", "reason": "tem sao"})
    )
    report = reports.submit_report(
        session,
        reports.ReportForm(problem="fake_goods", details="hàng nghi giả"),
        client=uuid.uuid4().bytes,
        serial=serials.from_db(stamps[0].serial),
        verdict="genuine",
    )
    return ProvinceData(
        code=code,
        commune=commune,
        admin=admin,
        inspector=inspector,
        producer_id=producer.id,
        product_id=product.id,
        certificate_id=cert.id,
        lot_id=lot.id,
        request_id=request.id,
        pending_request_id=pending.id,
        serial=serial,
        finding_id=finding.id,
        proposed_finding_id=proposed.id,
        report_id=report.id,
        ids={
            "producer": {producer.id},
            "product": {product.id, withdrawn.id},
            "certificate": {cert.id, withdrawn_cert.id},
            "lot": {lot.id, recalled.id},
            "request": {request.id, pending.id},
            "finding": {finding.id, proposed.id},
            "report": {report.id},
            "account": {admin.account_id, inspector.account_id},
        },
    )


def build_world(session: Session, keys_dir: Path) -> World:
    keyring = ensure_keyring(session, keys_dir)
    provinces = {code: _province(session, code, keyring) for code in (HA_TINH, THANH_HOA)}
    kid = session.scalar(select(SigningKey.kid).where(SigningKey.state == "active"))
    assert kid is not None
    return World(
        provinces=provinces,
        central=make_caller(session, Role.ADMIN),
        central_inspector=make_caller(session, Role.INSPECTOR),
        kid=kid,
    )
