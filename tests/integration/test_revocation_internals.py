"""Merged revocation helpers: one status_changed per action, one flush-or-Conflict helper,
the key helpers of ``services.keys`` with the API's error codes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stamp_service.domain.access import SYSTEM
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.services import keys, revocation
from stamp_service.services.status_events import current_generation
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.registry import Lot
from tests.factories import make_lot, make_producer, make_product
from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


def generation(app):
    return current_generation(app.extensions["ocop"].store)


def test_each_action_tells_the_workers_once(app, client, session, admin, keyring):
    batch = make_issued_batch(session, keyring, n=1)
    withdraw = client.post(
        f"/api/v1/certificates/{batch.certificate.id}/withdrawal",
        json={"decision": decision(), "reason": "vi phạm"},
        headers=admin.headers,
    )
    assert withdraw.status_code == 200, withdraw.get_json()

    before = generation(app)
    recert = client.post(
        f"/api/v1/products/{batch.product.id}/recertification",
        json={
            "stars": 4,
            "score": 75,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": "UBND tỉnh Hà Tĩnh",
            "authority_level": "province",
            "decision_number": "4500/QĐ-UBND",
            "signed_on": "2026-11-20",
        },
        headers=admin.headers,
    )
    assert recert.status_code == 200, recert.get_json()
    assert generation(app) == before + 1

    kid = batch.stamps[0].kid
    before = generation(app)
    resp = client.post(
        "/api/v1/signing-keys/rotation", json={"retire_kid": kid, "force": True}, headers=admin.headers
    )
    assert resp.status_code == 200, resp.get_json()
    assert generation(app) == before + 1
    new_kid = resp.get_json()["active"]["kid"]

    before = generation(app)
    resp = client.post(
        f"/api/v1/signing-keys/{new_kid}/compromise", json={"reason": "bị lộ"}, headers=admin.headers
    )
    assert resp.status_code == 200, resp.get_json()
    assert generation(app) == before + 1


def test_key_lookups_keep_each_interfaces_error_codes(session, keyring):
    with pytest.raises(ValidationFailed):  # the CLI names a kid: a malformed one is bad input
        keys.get_key(session, "xyz")
    with pytest.raises(NotFound):  # the API's path names a resource: there is no such key
        keys.get_key(session, "xyz", malformed_is_unknown=True)
    with pytest.raises(NotFound):
        revocation.rotate_key(session, SYSTEM, keyring=keyring, retire_kid="zz")
    active = keys.active_key(session, lock=False)
    assert active is not None and keys.get_key(session, active.kid.upper(), lock=False) is active


def test_flush_or_conflict_rolls_back_and_answers_conflict(session):
    product = make_product(session, make_producer(session).id)
    lot = make_lot(session, product.id, lot_code="DUP-1")
    session.add(
        Lot(product_id=product.id, lot_code=lot.lot_code, production_date=lot.production_date, quantity=1)
    )
    with pytest.raises(Conflict, match="exists"):
        flush_or_conflict(session, "lot DUP-1 exists")
    assert session.scalar(select(func.count()).where(Lot.product_id == product.id)) == 1
