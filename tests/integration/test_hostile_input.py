"""Regressions for hostile inputs that once produced a 500 (found by a fuzzing review)."""

from __future__ import annotations

import pytest

from stamp_service.crypto import pins
from stamp_service.domain.access import Role
from tests.factories import event_payload, make_caller, make_lot, make_producer, make_product
from tests.stamp_factories import ensure_keyring


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+10:00", "9999-12-31T23:59:59-10:00", "1899-12-31T23:00:00+00:00"]
)
def test_extreme_trace_event_times_are_422_not_500(client, session, when):
    producer = make_producer(session)
    lot = make_lot(session, make_product(session, producer.id).id)
    admin = make_caller(session, Role.ADMIN)
    resp = client.post(
        f"/api/v1/lots/{lot.id}/events", json=event_payload(occurred_at=when), headers=admin.headers
    )
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["errors"][0]["field"].endswith("occurred_at") or "occurred_at" in str(
        resp.get_json()
    )


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+10:00", "9999-12-31T23:59:59-10:00"])
def test_extreme_finding_times_are_422_not_500(client, session, when):
    inspector = make_caller(session, Role.INSPECTOR)
    body = {
        "client_id": "c" * 16,
        "serial": "028T-5CY4-TQKF-FX",
        "verdict": "not_genuine",
        "shop": "Chợ Hà Tĩnh",
        "observed_at": when,
    }
    resp = client.post("/api/v1/findings", json=body, headers=inspector.headers)
    assert resp.status_code == 422, resp.get_json()


def test_dates_beyond_the_stamp_day_range_are_refused(client, session):
    producer = make_producer(session)
    admin = make_caller(session, Role.ADMIN)
    product = make_product(session, producer.id)
    from tests.factories import certificate_payload

    resp = client.post(
        "/api/v1/certificates",
        json=certificate_payload(product.id, valid_until="9999-01-01"),
        headers=admin.headers,
    )
    assert resp.status_code == 422


def test_non_ascii_digits_in_a_pin_do_not_match_and_do_not_crash(session, tmp_path):
    keyring = ensure_keyring(session, tmp_path / "keys")
    serial = 0x1234_5678_9ABC_DEF0
    stored = pins.pin_hash(keyring, serial, pins.derive_pin(keyring, serial))
    assert not pins.pin_matches(keyring, serial, "١٢٣٤٥٦٧٨", stored)
    assert pins.pin_matches(keyring, serial, " " + pins.derive_pin(keyring, serial) + " ", stored)
