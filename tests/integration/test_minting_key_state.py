"""Issuance never signs with a key compromised or retired after the key ring's snapshot was taken.

The key ring caches key states for a second per process; each chunk re-reads the active key's
row in its own transaction (``FOR SHARE`` on PostgreSQL), so a compromise committed by another
process a moment ago is honoured by the very next chunk.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain.access import SYSTEM
from stamp_service.errors import SigningKeyUnavailable
from stamp_service.services import keys, minting
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.issuance_helpers import certified
from tests.stamp_factories import ensure_keyring, make_request


@pytest.fixture()
def setup(session, settings):
    ensure_keyring(session, settings.keys_dir)
    # This process's ring, with a long-lived snapshot taken now (while the key is active).
    ring = KeyRing(settings.keys_dir, state_ttl=3600)
    old_kid = ring.signer(session).kid.hex()
    s = certified(session, lot_quantity=100)
    request = make_request(
        session, producer=s.producer, product=s.product, certificate=s.certificate, lot=s.lot, quantity=6
    )
    # Another process (its own key ring) ...
    return ring, old_kid, request, KeyRing(settings.keys_dir)


def kids(session, request_id):
    return set(session.scalars(select(Stamp.kid).where(Stamp.request_id == request_id)))


def test_a_key_compromised_elsewhere_a_moment_ago_signs_nothing(session, setup):
    ring, old_kid, request, elsewhere = setup
    _, replacement = keys.compromise(session, SYSTEM, keyring=elsewhere, kid=old_kid, reason="lộ khóa")
    assert replacement is not None
    result = minting.issue_chunk(session, request_id=request.id, keyring=ring, chunk_size=6)
    assert result.issued_now == 6
    assert kids(session, request.id) == {replacement.kid}  # the replacement, never the compromised key


def test_without_a_replacement_issuance_waits_for_a_key(session, setup):
    ring, old_kid, request, elsewhere = setup
    keys.compromise(session, SYSTEM, keyring=elsewhere, kid=old_kid, reason="lộ khóa", replace=False)
    with pytest.raises(SigningKeyUnavailable):
        minting.issue_chunk(session, request_id=request.id, keyring=ring, chunk_size=6)
    session.rollback()
    assert kids(session, request.id) == set()
    row = session.get(StampRequest, request.id)
    assert (row.state, row.issued_count) == ("approved", 0)  # resumable once a key is active
    keys.rotate(session, SYSTEM, keyring=elsewhere, force=True)
    assert minting.issue_all(session, request_id=request.id, keyring=ring).state == "issued"
    assert old_kid not in kids(session, request.id)


def test_a_key_retired_elsewhere_signs_nothing_either(session, setup):
    ring, _, request, elsewhere = setup
    new = keys.rotate(session, SYSTEM, keyring=elsewhere, force=True)
    minting.issue_all(session, request_id=request.id, keyring=ring, chunk_size=2)
    assert kids(session, request.id) == {new.kid}
