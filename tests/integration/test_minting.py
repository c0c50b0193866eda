"""The issuance engine: slots, signatures, chunks, stops and resumption."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from stamp_service.crypto import pins
from stamp_service.domain import serials
from stamp_service.domain.stamp_format import verify
from stamp_service.services import minting
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.stamps import Stamp
from tests.stamp_factories import ensure_keyring, make_issued_batch, make_request


@pytest.fixture()
def keyring(session, tmp_path):
    return ensure_keyring(session, tmp_path / "keys")


def test_every_issued_stamp_verifies_and_carries_its_product_and_lot(session, keyring):
    batch = make_issued_batch(session, keyring, n=7)
    assert batch.request.state == "issued" and batch.request.issued_count == 7
    assert [s.seq for s in batch.stamps] == list(range(1, 8))
    assert len({s.serial for s in batch.stamps}) == 7
    for stamp, token in zip(batch.stamps, batch.tokens, strict=True):
        claims = verify(token, public_key_lookup=keyring.lookup(session))
        assert serials.to_db(claims.serial) == stamp.serial
        assert (claims.product_index, claims.lot_index) == (batch.product.id, batch.lot.id)
        assert claims.expiry_date == batch.certificate.valid_until


def test_chunks_resume_where_the_last_one_stopped(session, keyring):
    batch = make_issued_batch(session, keyring, n=1)
    request = make_request(
        session,
        producer=batch.producer,
        product=batch.product,
        certificate=batch.certificate,
        lot=batch.lot,
        quantity=9,
    )
    first = minting.issue_chunk(session, request_id=request.id, keyring=keyring, chunk_size=4)
    assert (first.issued_now, first.issued_total, first.state) == (4, 4, "issuing")
    rest = minting.issue_all(session, request_id=request.id, keyring=keyring, chunk_size=4)
    assert (rest.issued_total, rest.state) == (9, "issued")
    seqs = session.scalars(select(Stamp.seq).where(Stamp.request_id == request.id).order_by(Stamp.seq)).all()
    assert seqs == list(range(1, 10))
    again = minting.issue_chunk(session, request_id=request.id, keyring=keyring)
    assert again.issued_now == 0
    assert session.scalar(select(func.count()).where(Stamp.request_id == request.id)) == 9
    chunks = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "stamps.issue", AuditEntry.entity_id == str(request.id))
    ).all()
    assert [(c.after["seq_from"], c.after["seq_to"]) for c in chunks] == [(1, 4), (5, 8), (9, 9)]


def test_issuance_stops_when_the_certificate_is_withdrawn(session, keyring):
    batch = make_issued_batch(session, keyring, n=1)
    request = make_request(
        session,
        producer=batch.producer,
        product=batch.product,
        certificate=batch.certificate,
        lot=batch.lot,
        quantity=5,
    )
    minting.issue_chunk(session, request_id=request.id, keyring=keyring, chunk_size=2)
    batch.certificate.state = "withdrawn"
    session.commit()
    result = minting.issue_chunk(session, request_id=request.id, keyring=keyring, chunk_size=2)
    assert (result.state, result.issued_now, result.issued_total) == ("stopped", 0, 2)
    assert "withdrawn" in request.stop_reason


def test_issuance_refuses_an_expired_certificate(session, keyring):
    batch = make_issued_batch(session, keyring, n=1)
    request = make_request(
        session,
        producer=batch.producer,
        product=batch.product,
        certificate=batch.certificate,
        lot=batch.lot,
        quantity=2,
    )
    later = date(2099, 1, 1)
    result = minting.issue_chunk(session, request_id=request.id, keyring=keyring, today=later)
    assert result.state == "stopped" and "expired" in request.stop_reason


def test_pins_are_stored_only_as_keyed_hashes(session, keyring):
    batch = make_issued_batch(session, keyring, n=3, with_pin=True)
    for stamp in batch.stamps:
        serial = serials.from_db(stamp.serial)
        pin = pins.derive_pin(keyring, serial)
        assert len(pin) == 8 and pin.isdigit()
        assert stamp.pin_hash is not None and pin.encode() not in stamp.pin_hash
        assert pins.pin_matches(keyring, serial, pin, stamp.pin_hash)
        wrong = str((int(pin) + 1) % 10**8).zfill(8)
        assert not pins.pin_matches(keyring, serial, wrong, stamp.pin_hash)
