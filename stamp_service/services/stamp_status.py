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
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing, PublicKeyInfo
from stamp_service.domain import serials
from stamp_service.domain.certification import local_day, local_today
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
from stamp_service.storage.models.scans import ScanCounter
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


@dataclass(frozen=True)
class StampRow:
    """The issued record of one stamp as the verdict needs it, with its persisted scan totals."""

    serial: int  # unsigned
    request_id: int
    seq: int
    product_id: int
    lot_id: int
    kid: str
    expiry_day: date
    issued_at: datetime
    has_pin: bool
    stars_at_issue: int
    signature: bytes
    counters: ScanCounts | None  # scan_counters' row (None: never flushed)

    def claims(self) -> StampClaims:
        """What the stamp's QR code signs (to re-verify the stored signature of a typed serial)."""
        return StampClaims(
            1, bytes.fromhex(self.kid), self.serial, self.product_id, self.lot_id, day_number(self.expiry_day)
        )

    def matches(self, claims: StampClaims) -> bool:
        return (
            self.product_id == claims.product_index
            and self.lot_id == claims.lot_index
            and self.kid == claims.kid_hex
            and day_number(self.expiry_day) == claims.expiry_day
        )


@dataclass(frozen=True)
class ScanCounts:
    scans: int
    first_at: datetime
    last_at: datetime
    clients: int
    provinces: int


_STAMP_ROW = (
    select(
        Stamp.request_id,
        Stamp.seq,
        Stamp.product_id,
        Stamp.lot_id,
        Stamp.kid,
        Stamp.expiry_day,
        Stamp.issued_at,
        Stamp.pin_hash.is_not(None),
        StampRequest.stars_at_request,
        Stamp.signature,
        ScanCounter.scans,
        ScanCounter.first_at,
        ScanCounter.last_at,
        ScanCounter.clients,
        ScanCounter.provinces,
    )
    .join(StampRequest, StampRequest.id == Stamp.request_id)
    .outerjoin(ScanCounter, ScanCounter.serial == Stamp.serial)
    .where(Stamp.serial == bindparam("serial"))
)
_PG_STAMP_ROW = str(_STAMP_ROW.compile(dialect=postgresql.psycopg.dialect()))


def load_stamp(session: Session, serial: int) -> StampRow | None:
    """One indexed query (primary key; the request and counters joined by their primary keys).

    On PostgreSQL the statement goes straight to psycopg as a server-side prepared statement:
    the page's one query per first scan, where SQLAlchemy's statement handling cost more CPU
    than the query itself (bench/verify_profile.py). The SQL is still ``_STAMP_ROW``'s.
    """
    key = serials.to_db(serial)
    bind = session.get_bind()
    row: Any
    if bind.dialect.name != "postgresql":
        row = session.connection().execute(_STAMP_ROW, {"serial": key}).one_or_none()
    elif not session.info.get("autocommit_reads") or session.in_transaction() or not isinstance(bind, Engine):
        raw = session.connection().connection.driver_connection
        row = raw.execute(_PG_STAMP_ROW, {"serial": key}, prepare=True).fetchone()  # type: ignore[union-attr]
    else:
        # The page's autocommit read session (``Runtime.read_session_factory``, marked in its info):
        # a pool checkout without a Session transaction. The Session's begin, connection wrapper and
        # close cost as much CPU as the query (py-spy under gunicorn, docs/verification.md); with
        # nothing begun, closing the session is cheap too. Other sessions read through their own
        # connection, so what they hold (a test's transaction, a replica's error wrapping) stays.
        pooled = bind.raw_connection()
        try:
            row = pooled.driver_connection.execute(_PG_STAMP_ROW, {"serial": key}, prepare=True).fetchone()  # type: ignore[union-attr]
        finally:
            pooled.close()
    if row is None:
        return None
    scans, first_at, last_at, clients, provinces = row[10:]
    counts = (
        ScanCounts(scans, _utc(first_at), _utc(last_at), clients, provinces) if scans is not None else None
    )
    request_id, seq, product_id, lot_id, kid, expiry_day, issued_at, has_pin, stars, signature = row[:10]
    return StampRow(
        serial,
        request_id,
        seq,
        product_id,
        lot_id,
        kid,
        expiry_day,
        _utc(issued_at),
        has_pin,
        stars,
        bytes(signature),
        counts,
    )


def _utc(moment: datetime) -> datetime:
    """What the ``UtcDateTime`` column type gives (the raw path skips column types)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class LotStatus:
    """What a lot contributes to its stamps' verdicts (cacheable per status generation)."""

    recalled: Decision | None
    certificate: CertificateFacts | None  # the product's current certificate
    voids: tuple[tuple[int, int, int, Decision], ...]  # (request, seq from, seq to, decision), oldest first

    def void_of(self, request_id: int, seq: int) -> Decision | None:
        for request, seq_from, seq_to, decision in self.voids:
            if request == request_id and seq_from <= seq <= seq_to:
                return decision
        return None


def load_lot_status(session: Session, lot_id: int, product_id: int) -> LotStatus:
    """The lot's recall, the product's current certificate and the voids of the lot's requests."""
    lot = session.get(Lot, lot_id)
    cert = current_certificate(session, product_id)
    voids = session.execute(
        select(StampVoid.request_id, StampVoid.seq_from, StampVoid.seq_to, StampVoid)
        .join(StampRequest, StampRequest.id == StampVoid.request_id)
        .where(StampRequest.lot_id == lot_id)
        .order_by(StampVoid.id)
    ).all()
    return LotStatus(
        Decision.from_record(lot.recall) if lot is not None and lot.recall else None,
        _certificate_facts(session, cert) if cert else None,
        tuple(
            (
                req,
                a,
                b,
                Decision.from_record(
                    v.decision, reason=v.reason, decided_on=local_day(v.voided_at), kind=v.reason_code
                ),
            )
            for req, a, b, v in voids
        ),
    )


def status_of(
    row: StampRow,
    key: PublicKeyInfo | None,
    lot: LotStatus,
    today: date,
    clone_suspected: bool = False,
) -> Status:
    """The verdict of an issued stamp whose signed claims match ``row`` (domain.status decides)."""
    key_state = KeyState(key.state) if key else KeyState.COMPROMISED
    compromised_on = local_day(key.compromised_at) if key and key.compromised_at else None
    if key and key.compromised_at and row.issued_at >= key.compromised_at:
        return NOT_GENUINE  # minted with a stolen key after we stopped using it
    facts = StampFacts(
        expiry_day=row.expiry_day,
        key_state=key_state,
        key_compromised_on=compromised_on,
        voided=lot.void_of(row.request_id, row.seq),
        lot_recalled=lot.recalled,
        certificate=lot.certificate,
        clone_suspected=clone_suspected,
    )
    return stamp_status(facts, today=today)


def _decide(
    session: Session, keyring: KeyRing, stamp: Stamp, claims: StampClaims, today: date, clone_suspected: bool
) -> StampCheck:
    row = load_stamp(session, claims.serial)
    assert row is not None  # the caller has just read the stamp
    status = status_of(
        row,
        keyring.public_key(session, claims.kid),
        load_lot_status(session, stamp.lot_id, stamp.product_id),
        today,
        clone_suspected,
    )
    if status is NOT_GENUINE:
        return StampCheck(NOT_GENUINE, claims)
    request = session.get(StampRequest, stamp.request_id)
    return StampCheck(status, claims, stamp, request, current_certificate(session, stamp.product_id))


def _certificate_facts(session: Session, cert: Certificate) -> CertificateFacts:
    changed_on = None
    if cert.supersedes_id is not None:
        previous = session.get(Certificate, cert.supersedes_id)
        if previous is not None and previous.stars != cert.stars:
            changed_on = cert.signed_on
    withdrawn = None
    if cert.state == "withdrawn":
        changed = local_day(cert.state_changed_at) if cert.state_changed_at else None
        withdrawn = Decision.from_record(cert.withdrawal, decided_on=changed)
    return CertificateFacts(
        stars=cert.stars, valid_until=cert.valid_until, withdrawn=withdrawn, stars_changed_on=changed_on
    )
