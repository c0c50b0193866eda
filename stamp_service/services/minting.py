"""The issuance engine: fill a request's slots with signed stamps, one chunk per transaction.

Each chunk locks the request row (``FOR UPDATE`` on PostgreSQL; SQLite
serialises writers), re-checks that issuing is still allowed (certificate still
valid with 3+ stars, lot not recalled, key row still ``active`` read in the same
transaction, see ``_signer_still_active``), mints the next slots
``issued_count+1 ..`` and advances ``issued_count`` in the same transaction.
So a crash loses at most the chunk in flight and the next run resumes at the
first missing slot; ``UNIQUE(request_id, seq)`` makes a duplicate slot
impossible even if two workers race, and the random 64-bit serial is the
primary key, so a (vanishingly rare) collision fails the chunk, which is retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from stamp_service.crypto import pins
from stamp_service.crypto.keyring import KeyRing, Signer
from stamp_service.domain import serials
from stamp_service.domain.access import SYSTEM, Principal
from stamp_service.domain.certification import local_today
from stamp_service.domain.stamp_format import StampClaims, day_number, encode_token, message_for_serials
from stamp_service.domain.status import MIN_CERTIFIED_STARS
from stamp_service.errors import Conflict, NotFound, RuleViolation, SigningKeyUnavailable
from stamp_service.services import audit
from stamp_service.services.certificates import current_certificate as current_certificate  # re-export
from stamp_service.storage.db import is_postgres
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.registry import Lot
from stamp_service.storage.models.stamps import Stamp, StampRequest

DEFAULT_CHUNK = 2000
ISSUABLE_STATES = ("approved", "issuing")
_RETRIES = 3


@dataclass(frozen=True)
class ChunkResult:
    request_id: int
    issued_now: int
    issued_total: int
    quantity: int
    state: str

    @property
    def done(self) -> bool:
        return self.state == "issued"


def issuing_blocker(session: Session, product_id: int, lot_id: int, today: date) -> RuleViolation | None:
    """Why stamps may not be issued for this product and lot today, or None (DOMAIN §4 rule 1)."""
    cert = current_certificate(session, product_id)
    if cert is None:
        return RuleViolation("the product has no OCOP certificate", rule="no-valid-certificate")
    if cert.state == "withdrawn":
        return RuleViolation(
            f"the product's stars were withdrawn (certificate {cert.decision_number})",
            rule="certificate-withdrawn",
        )
    if cert.stars < MIN_CERTIFIED_STARS:
        return RuleViolation(f"the product is rated {cert.stars} stars, below 3", rule="stars-below-three")
    if today > cert.valid_until:
        return RuleViolation(
            f"the certificate expired on {cert.valid_until.isoformat()}", rule="certificate-expired"
        )
    lot = session.get(Lot, lot_id)
    if lot is not None and lot.recall is not None:
        return RuleViolation("the lot is recalled", rule="lot-recalled")
    return None


def _lock_request(session: Session, request_id: int) -> StampRequest:
    request = session.scalar(select(StampRequest).where(StampRequest.id == request_id).with_for_update())
    if request is None:
        raise NotFound("no such stamp request")
    return request


def issue_chunk(
    session: Session,
    *,
    request_id: int,
    keyring: KeyRing,
    chunk_size: int = DEFAULT_CHUNK,
    actor: Principal = SYSTEM,
    today: date | None = None,
) -> ChunkResult:
    """Mint the next chunk of slots and commit. Stops the request when issuing is no longer allowed."""
    for attempt in range(_RETRIES):
        try:
            return _issue_chunk_once(session, request_id, keyring, chunk_size, actor, today or local_today())
        except IntegrityError:
            # A serial collision or a racing worker that filled the same slots: re-read and go on.
            session.rollback()
            if attempt == _RETRIES - 1:
                raise Conflict("could not store the stamp chunk; retry the issuance") from None
    raise AssertionError("unreachable")


def _issue_chunk_once(
    session: Session, request_id: int, keyring: KeyRing, chunk_size: int, actor: Principal, today: date
) -> ChunkResult:
    request = _lock_request(session, request_id)
    quantity = request.quantity_approved or 0

    def result(issued_now: int) -> ChunkResult:
        return ChunkResult(request.id, issued_now, request.issued_count, quantity, request.state)

    if request.state not in ISSUABLE_STATES:
        session.rollback()
        return result(0)
    blocker = issuing_blocker(session, request.product_id, request.lot_id, today)
    if blocker is not None:
        request.state = "stopped"
        request.stop_reason = blocker.detail
        audit.record(
            session,
            actor,
            action="stamp_request.stop",
            entity="stamp_request",
            entity_id=request.id,
            after={"state": "stopped", "issued_count": request.issued_count},
            reason=blocker.detail,
        )
        session.commit()
        return result(0)
    if request.expiry_day is None:
        cert = current_certificate(session, request.product_id)
        assert cert is not None  # issuing_blocker checked it
        request.expiry_day = cert.valid_until

    first = request.issued_count + 1
    last = min(quantity, request.issued_count + chunk_size)
    signer = _signer_still_active(session, keyring)
    if signer is None:  # the key ring's snapshot is stale and no key is active now: mint nothing
        session.rollback()
        raise SigningKeyUnavailable("the signing key is no longer active; retry once a key is active")
    kid_hex = signer.kid.hex()
    stored = _store(session, _signed_rows(request, first, last, signer, keyring))
    if stored != max(0, last - first + 1):
        raise AssertionError("a chunk stored another number of stamps than it minted")
    request.issued_count = last if stored else request.issued_count
    request.state = "issued" if request.issued_count >= quantity else "issuing"
    audit.record(
        session,
        actor,
        action="stamps.issue",
        entity="stamp_request",
        entity_id=request.id,
        after={"seq_from": first, "seq_to": last, "kid": kid_hex, "state": request.state},
    )
    session.commit()
    return result(stored)


def _signer_still_active(session: Session, keyring: KeyRing) -> Signer | None:
    """The active key's Signer, with its row read in this chunk's transaction and still ``active``.

    The key ring's state snapshot may be up to a second old, so a key compromised (or retired) a
    moment ago could still look active. The row is read ``FOR SHARE`` on PostgreSQL:
    ``keys.compromise`` holds ``FOR UPDATE`` on it until it commits, so either this chunk reads the
    key after the compromise committed (and does not use it), or the compromise waits for this
    chunk to commit. SQLite serialises writers, so a plain read is enough there. A stale snapshot
    (either way: the key is no longer active, or a key was activated since) is reloaded once.
    """
    for attempt in range(2):
        try:
            signer = keyring.signer(session)
        except SigningKeyUnavailable:
            if attempt:
                raise
            keyring.invalidate()
            continue
        stmt = select(SigningKey.state).where(SigningKey.kid == signer.kid.hex())
        if is_postgres(session):
            stmt = stmt.with_for_update(read=True)
        if session.scalar(stmt) == "active":
            return signer
        keyring.invalidate()
    return None


# Column order of the rows ``_signed_rows`` yields (and of the COPY).
_COLUMNS = (
    "serial",
    "request_id",
    "seq",
    "product_id",
    "lot_id",
    "kid",
    "expiry_day",
    "signature",
    "pin_hash",
    "issued_at",
)


def _signed_rows(
    request: StampRequest, first: int, last: int, signer: Signer, keyring: KeyRing
) -> Iterator[tuple[Any, ...]]:
    """Mint slots ``first..last``: a fresh random serial and a signature each (lazily, so the
    database can store one part of the chunk while the next is being signed)."""
    kid, kid_hex = signer.kid, signer.kid.hex()
    request_id, product_id, lot_id = request.id, request.product_id, request.lot_id
    expiry_day = request.expiry_day
    assert expiry_day is not None
    message = message_for_serials(
        StampClaims(
            version=1,
            kid=kid,
            serial=1,
            product_index=product_id,
            lot_index=lot_id,
            expiry_day=day_number(expiry_day),
        )
    )
    with_pin, now, sign = request.with_pin, utcnow(), signer.sign
    to_db = serials.to_db
    for seq, serial in zip(range(first, last + 1), serials.generate_many(last - first + 1), strict=True):
        pin_hash = pins.pin_hash(keyring, serial, pins.derive_pin(keyring, serial)) if with_pin else None
        yield (
            to_db(serial),
            request_id,
            seq,
            product_id,
            lot_id,
            kid_hex,
            expiry_day,
            sign(message(serial)),
            pin_hash,
            now,
        )


def _store(session: Session, rows: Iterator[tuple[Any, ...]]) -> int:
    """Store a chunk in the session's transaction; returns how many rows.

    PostgreSQL: COPY, streamed while the rows are being signed, so the server inserts and
    checks constraints in parallel with the signing (about twice the rate of a multi-row
    INSERT). Elsewhere an executemany INSERT. A duplicate serial or slot raises
    IntegrityError either way, so ``issue_chunk`` retries the same way; a lost connection
    raises SQLAlchemy's OperationalError either way (the web answers 503 for it).
    """
    if not is_postgres(session):
        batch = [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        if batch:
            session.execute(insert(Stamp), batch)
        return len(batch)
    import psycopg

    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live psycopg connection: the session holds it
    sql = f"COPY stamps ({', '.join(_COLUMNS)}) FROM STDIN"
    count = 0
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    except psycopg.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc
    except psycopg.OperationalError as exc:  # the server went away: the pool must not reuse this one
        session.connection().invalidate(exc)
        raise OperationalError(sql, None, exc) from exc
    return count


def issue_all(
    session: Session,
    *,
    request_id: int,
    keyring: KeyRing,
    chunk_size: int = DEFAULT_CHUNK,
    actor: Principal = SYSTEM,
    progress=None,  # type: ignore[no-untyped-def]
) -> ChunkResult:
    """Run chunks until the request is issued or stopped; ``progress(done, total)`` after each."""
    while True:
        result = issue_chunk(
            session, request_id=request_id, keyring=keyring, chunk_size=chunk_size, actor=actor
        )
        if progress is not None:
            progress(result.issued_total, result.quantity)
        if result.state != "issuing" or result.issued_now == 0:
            return result


def token_for(stamp: Stamp) -> str:
    """The token text printed in ``stamp``'s QR code, rebuilt from its row (no signing needed)."""
    return encode_token(*claims_for(stamp))


def claims_for(stamp: Stamp) -> tuple[StampClaims, bytes]:
    """The signed claims and signature of ``stamp``'s row (a Stamp or a row of its columns)."""
    claims = StampClaims(
        version=1,
        kid=bytes.fromhex(stamp.kid),
        serial=serials.from_db(stamp.serial),
        product_index=stamp.product_id,
        lot_index=stamp.lot_id,
        expiry_day=day_number(stamp.expiry_day),
    )
    return claims, stamp.signature
