"""Two provinces' worth of office work for the console decision pages' tests (integration and e2e).

Each province gets an office administrator (with a password), an inspector, a producer with a
product, a 4-star certificate and a lot, 3 issued stamps, a request waiting for the office, an
inspector's finding on the first stamp with a void proposal, and an open consumer report.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import serials
from stamp_service.domain.access import SYSTEM, Principal, Role
from stamp_service.schemas.findings import FindingIn, FindingVerdict, ProposalAction, ProposalIn
from stamp_service.schemas.stamp_requests import StampRequestIn
from stamp_service.services import accounts, findings, minting, reports, stamp_requests
from stamp_service.storage.models.accounts import Account
from stamp_service.storage.models.scans import ConsumerReport
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.factories import make_certificate, make_lot, make_producer, make_product
from tests.people_support import make_person
from tests.stamp_factories import IssuedBatch, make_request

HA_TINH, THANH_HOA = "42", "38"
COMMUNES = {HA_TINH: "18418", THANH_HOA: "14845"}
AUTHORITIES = {HA_TINH: "UBND tỉnh Hà Tĩnh", THANH_HOA: "UBND tỉnh Thanh Hóa"}
_seq = itertools.count(1)


@dataclass
class Office:
    province: str
    admin_name: str
    admin: Principal
    batch: IssuedBatch
    waiting: StampRequest
    finding_id: int
    report_id: int

    def serial(self, index: int = 0) -> str:
        return serials.format_serial(serials.from_db(self.batch.stamps[index].serial))


def _principal(session: Session, account_id: int) -> Principal:
    account = session.get(Account, account_id)
    assert account is not None
    return accounts.principal_of(account)


def make_office(
    session: Session, keyring: KeyRing, province: str, *, admin_name: str | None = None
) -> Office:
    n = next(_seq)
    admin_name = admin_name or f"office-{province}-{n}"
    admin = _principal(session, make_person(session, Role.ADMIN, name=admin_name, province_code=province))
    inspector = _principal(
        session,
        make_person(session, Role.INSPECTOR, name=f"inspector-{province}-{n}", province_code=province),
    )
    producer = make_producer(session, commune_code=COMMUNES[province], name=f"HTX Tỉnh {province} số {n}")
    product = make_product(session, producer.id)
    certificate = make_certificate(session, product.id, authority_name=AUTHORITIES[province])
    lot = make_lot(session, product.id, quantity=200)
    issued = make_request(
        session, producer=producer, product=product, certificate=certificate, lot=lot, quantity=3
    )
    minting.issue_all(session, request_id=issued.id, keyring=keyring)
    stamps = list(session.query(Stamp).filter(Stamp.request_id == issued.id).order_by(Stamp.seq))
    batch = IssuedBatch(
        producer, product, certificate, lot, issued, stamps, [minting.token_for(s) for s in stamps]
    )
    waiting = stamp_requests.create_request(
        session,
        SYSTEM,
        StampRequestIn(lot_id=lot.id, quantity=20),
        idempotency_key=f"console-test-{province}-{n}",
        spare_percent=10,
    ).request
    serial = serials.format_serial(serials.from_db(stamps[0].serial))
    finding = findings.record_finding(
        session,
        inspector,
        FindingIn(
            client_id=f"finding-{province}-{n:06d}",
            serial=serial,
            verdict=FindingVerdict.SUSPICIOUS,
            possible_copy=True,
            shop=f"Cửa hàng thử {province}-{n}",
            note="tem in mờ, nghi sao chép",
            observed_at=datetime.now(UTC),
        ),
    ).finding
    findings.propose(
        session, admin, finding.id, ProposalIn(action=ProposalAction.VOID, reason="tem sao chép")
    )
    report = reports.submit_report(
        session,
        reports.ReportForm(
            problem="fake_stamp", details="tem khác màu", shop_name="Chợ thử", province_code=province
        ),
        client=b"0123456789abcdef",
        serial=None,
        verdict=None,
    )
    return Office(province, admin_name, admin, batch, waiting, finding.id, report.id)


__all__ = ["HA_TINH", "THANH_HOA", "ConsumerReport", "Office", "make_office"]
