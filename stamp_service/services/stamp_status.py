"""From a scanned token (or a typed serial) to a verdict: gather the facts, let the domain decide.

The order of DESIGN §3 / issue 4: the format and signature are checked first,
without touching the database (a forged or truncated code is "not genuine"
at once); then the issued record must exist and match the signed claims; then
``domain.status.stamp_status`` decides from the key, the stamp's voids, its lot
and the product's current certificate. Unknown and malformed codes answer
alike, so the answer gives no help to someone enumerating serials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import serials
from stamp_service.domain.certification import local_today
from stamp_service.domain.stamp_format import StampClaims, day_number, verify
from stamp_service.domain.status import (
    Cause,
    CertificateFacts,
    Decision,
    Finding,
    KeyState,
    StampFacts,
    Status,
    Verdict,
    stamp_status,
)
from stamp_service.errors import InvalidStamp
from stamp_service.services.minting import current_certificate, token_for
from stamp_service.storage.models.registry import Certificate, Lot
from stamp_service.storage.models.stamps import Stamp, StampRequest, StampVoid

NOT_GENUINE = Status(Verdict.NOT_GENUINE, (Finding(Cause.BAD_CODE),))
UNKNOWN = Status(Verdict.NOT_GENUINE, (Finding(Cause.UNKNOWN_SERIAL),))


@dataclass(frozen=True)
class StampCheck:
    """Everything the page and the API show about one scanned code."""

    status: Status
    claims: StampClaims | None = None
    stamp: Stamp | None = None
    request: StampRequest | None = None
    certificate: Certificate | None = None  # the product's current certificate

    @property
    def genuine_code(self) -> bool:
        return self.stamp is not None

    @property
    def stars_at_issue(self) -> int | None:
        return self.request.stars_at_request if self.request else None


def check_token(
    session: Session,
    keyring: KeyRing,
    token_text: str,
    *,
    today: date | None = None,
    clone_suspected: bool = False,
    claims: StampClaims | None = None,
) -> StampCheck:
    """Verify a token's format and signature, then derive the issued stamp's status.

    ``claims``: the caller has just verified ``token_text`` itself (its signature check is not repeated).
    """
    if claims is None:
        try:
            claims = verify(token_text, public_key_lookup=keyring.lookup(session))
        except InvalidStamp:
            return StampCheck(NOT_GENUINE)
    stamp = session.get(Stamp, serials.to_db(claims.serial))
    if stamp is None:
        return StampCheck(UNKNOWN, claims)
    if not _matches(stamp, claims):
        return StampCheck(NOT_GENUINE, claims)
    return _decide(session, keyring, stamp, claims, today or local_today(), clone_suspected)


def check_serial(
    session: Session,
    keyring: KeyRing,
    serial: int,
    *,
    today: date | None = None,
    clone_suspected: bool = False,
) -> StampCheck:
    """The typed-serial path: look the stamp up, then re-verify the stored signature."""
    stamp = session.get(Stamp, serials.to_db(serial))
    if stamp is None:
        return StampCheck(UNKNOWN)
    return check_token(session, keyring, token_for(stamp), today=today, clone_suspected=clone_suspected)


def _matches(stamp: Stamp, claims: StampClaims) -> bool:
    return (
        stamp.product_id == claims.product_index
        and stamp.lot_id == claims.lot_index
        and stamp.kid == claims.kid_hex
        and day_number(stamp.expiry_day) == claims.expiry_day
    )


def _decide(
    session: Session, keyring: KeyRing, stamp: Stamp, claims: StampClaims, today: date, clone_suspected: bool
) -> StampCheck:
    key = keyring.public_key(session, claims.kid)
    key_state = KeyState(key.state) if key else KeyState.COMPROMISED
    compromised_on = key.compromised_at.date() if key and key.compromised_at else None
    if key and key.compromised_at and stamp.issued_at >= key.compromised_at:
        return StampCheck(NOT_GENUINE, claims)  # minted with a stolen key after we stopped using it
    request = session.get(StampRequest, stamp.request_id)
    lot = session.get(Lot, stamp.lot_id)
    cert = current_certificate(session, stamp.product_id)
    facts = StampFacts(
        expiry_day=stamp.expiry_day,
        key_state=key_state,
        key_compromised_on=compromised_on,
        voided=_void(session, stamp),
        lot_recalled=Decision.from_record(lot.recall) if lot is not None and lot.recall else None,
        certificate=_certificate_facts(session, cert) if cert else None,
        clone_suspected=clone_suspected,
    )
    return StampCheck(stamp_status(facts, today=today), claims, stamp, request, cert)


def _void(session: Session, stamp: Stamp) -> Decision | None:
    row = session.scalar(
        select(StampVoid)
        .where(
            StampVoid.request_id == stamp.request_id,
            StampVoid.seq_from <= stamp.seq,
            StampVoid.seq_to >= stamp.seq,
        )
        .order_by(StampVoid.id)
        .limit(1)
    )
    if row is None:
        return None
    return Decision.from_record(
        row.decision, reason=row.reason, decided_on=row.voided_at.date(), kind=row.reason_code
    )


def _certificate_facts(session: Session, cert: Certificate) -> CertificateFacts:
    changed_on = None
    if cert.supersedes_id is not None:
        previous = session.get(Certificate, cert.supersedes_id)
        if previous is not None and previous.stars != cert.stars:
            changed_on = cert.signed_on
    withdrawn = None
    if cert.state == "withdrawn":
        changed = cert.state_changed_at.date() if cert.state_changed_at else None
        withdrawn = Decision.from_record(cert.withdrawal, decided_on=changed)
    return CertificateFacts(
        stars=cert.stars, valid_until=cert.valid_until, withdrawn=withdrawn, stars_changed_on=changed_on
    )
