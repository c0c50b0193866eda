"""Lots and trace events through the API: own products only, append-only ordered events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Lot, TraceEvent
from tests.factories import event_payload, lot_payload, make_caller, make_lot, make_producer, make_product


@pytest.fixture()
def setup(session):
    mine, other = make_producer(session), make_producer(session)
    return {
        "product": make_product(session, mine.id),
        "their_product": make_product(session, other.id),
        "me": make_caller(session, Role.PRODUCER, mine.id),
    }


def test_a_producer_records_a_lot_and_events_for_its_own_product(client, session, setup):
    me, product = setup["me"], setup["product"]
    resp = client.post(
        "/api/v1/lots", json=lot_payload(product.id, lot_code="PT-2025-10"), headers=me.headers
    )
    assert resp.status_code == 201, resp.get_json()
    lot_id = resp.get_json()["id"]
    kinds = ["sourcing", "processing", "testing", "packing", "dispatch"]
    for i, kind in enumerate(kinds):
        r = client.post(
            f"/api/v1/lots/{lot_id}/events",
            headers=me.headers,
            json=event_payload(event_type=kind, occurred_at=f"2025-10-0{i + 1}T08:00:00+07:00"),
        )
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["seq"] == i + 1
    detail = client.get(f"/api/v1/lots/{lot_id}", headers=me.headers).get_json()
    assert [e["event_type"] for e in detail["events"]] == kinds
    assert [e["seq"] for e in detail["events"]] == [1, 2, 3, 4, 5]
    assert detail["events"][0]["occurred_at"] == "2025-10-01T01:00:00Z"
    assert detail["events"][0]["recorded_by"].startswith("producer:")
    assert session.query(AuditEntry).filter_by(action="lot.event", entity_id=str(lot_id)).count() == 5


def test_input_lots_one_step_back(client, session, admin, setup):
    me, product = setup["me"], setup["product"]
    source = make_lot(session, product.id)
    theirs = make_lot(session, setup["their_product"].id)
    inputs = [
        {"lot_id": source.id},
        {"supplier": "HTX Hương Trà", "lot_code": "HT-07", "description": "Đường"},
    ]
    resp = client.post("/api/v1/lots", json=lot_payload(product.id, input_lots=inputs), headers=me.headers)
    assert resp.status_code == 201, resp.get_json()
    stored = resp.get_json()["input_lots"]
    assert stored[0] == {"lot_id": source.id, "product_id": product.id, "lot_code": source.lot_code}
    assert stored[1]["supplier"] == "HTX Hương Trà"
    # another producer's lot is as unknown as a missing one; an admin may link any lot
    for bad in ({"lot_id": theirs.id}, {"lot_id": 999999}, {"lot_code": "x"}, {"lot_id": "1"}):
        r = client.post("/api/v1/lots", json=lot_payload(product.id, input_lots=[bad]), headers=me.headers)
        assert r.status_code == 422, (bad, r.get_json())
        assert any(e["field"].startswith("input_lots.0") for e in r.get_json()["errors"])
    ok = client.post(
        "/api/v1/lots",
        json=lot_payload(product.id, input_lots=[{"lot_id": theirs.id}]),
        headers=admin.headers,
    )
    assert ok.status_code == 201


def test_raw_material_inputs_carry_supplier_commune_and_date(client, session, setup):
    """Circular 02/2024's raw-material items: supplier, area (a reference commune) and date."""
    me, product = setup["me"], setup["product"]
    good = {"supplier": "Tổ hợp tác chè Hương Sơn", "description": "Chè búp tươi"}
    good |= {"commune_code": "18352", "received_on": "2025-09-30"}
    resp = client.post("/api/v1/lots", json=lot_payload(product.id, input_lots=[good]), headers=me.headers)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["input_lots"] == [good]  # no lot code given: none stored
    cases = [
        ({**good, "commune_code": "42"}, "input_lots.0.commune_code"),  # a province, not a commune
        ({**good, "commune_code": "436"}, "input_lots.0.commune_code"),  # a district abolished in 2025
        ({**good, "commune_code": "99999"}, "input_lots.0.commune_code"),
        ({**good, "commune_code": "Hương Sơn"}, "input_lots.0.commune_code"),  # a name is not a code
        ({**good, "received_on": "2025-10-02"}, "input_lots.0.received_on"),  # after production
    ]
    for bad, field in cases:
        r = client.post(
            "/api/v1/lots",
            json=lot_payload(product.id, input_lots=[bad]),
            headers={**me.headers, "Accept-Language": "vi"},
        )
        assert r.status_code == 422, (bad, r.get_json())
        errors = r.get_json()["errors"]
        # A code that is not digits fails the union's pattern (pydantic names each branch).
        assert any(e["field"].startswith("input_lots.0") and e["field"].endswith(field[13:]) for e in errors)
        assert all(e["message"].isascii() is False for e in errors), errors  # worded in Vietnamese


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"expiry_date": "2025-09-30"}, "(body)"),  # before production
        ({"quantity": -5}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"production_date": "2025-13-01"}, "production_date"),
        ({"production_date": "2999-01-01", "expiry_date": None}, "production_date"),  # future
        ({"lot_code": "lô 1"}, "lot_code"),
        ({"lot_code": "X" * 21}, "lot_code"),
        ({"unit": ""}, "unit"),
        ({"input_lots": [{"lot_id": 1}] * 51}, "input_lots"),
        ({"serial": "1"}, "serial"),
    ],
)
def test_bad_lots_are_422_and_nothing_is_written(client, session, setup, overrides, field):
    before = session.query(Lot).count()
    resp = client.post(
        "/api/v1/lots", json=lot_payload(setup["product"].id, **overrides), headers=setup["me"].headers
    )
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["type"] == "/problems/validation-failed"
    assert any(e["field"].startswith(field) for e in resp.get_json()["errors"]), resp.get_json()
    assert session.query(Lot).count() == before


def test_lot_code_is_unique_per_product(client, session, admin, setup):
    product = setup["product"]
    payload = lot_payload(product.id, lot_code="PT25-A")
    assert client.post("/api/v1/lots", json=payload, headers=admin.headers).status_code == 201
    again = client.post("/api/v1/lots", json=payload, headers=admin.headers)
    assert (again.status_code, again.get_json()["type"]) == (409, "/problems/conflict")
    other = client.post(
        "/api/v1/lots", json={**payload, "product_id": setup["their_product"].id}, headers=admin.headers
    )
    assert other.status_code == 201  # same code, another product


def test_producers_cannot_touch_other_producers_lots_and_inspectors_only_read(
    client, session, setup, inspector
):
    me = setup["me"]
    their_lot = make_lot(session, setup["their_product"].id)
    r = client.post("/api/v1/lots", json=lot_payload(setup["their_product"].id), headers=me.headers)
    assert r.status_code == 404
    assert client.get(f"/api/v1/lots/{their_lot.id}", headers=me.headers).status_code == 404
    r = client.post(f"/api/v1/lots/{their_lot.id}/events", json=event_payload(), headers=me.headers)
    assert r.status_code == 404
    assert client.get(f"/api/v1/lots/{their_lot.id}", headers=inspector.headers).status_code == 200
    r = client.post("/api/v1/lots", json=lot_payload(setup["product"].id), headers=inspector.headers)
    assert (r.status_code, r.get_json()["type"]) == (403, "/problems/forbidden")
    r = client.post(f"/api/v1/lots/{their_lot.id}/events", json=event_payload(), headers=inspector.headers)
    assert r.status_code == 403
    assert client.post("/api/v1/lots", json=lot_payload(setup["product"].id)).status_code == 401
    assert session.query(TraceEvent).filter_by(lot_id=their_lot.id).count() == 0
    assert (
        client.post("/api/v1/lots/999999/events", json=event_payload(), headers=me.headers).status_code == 404
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": "2025-10-01T08:00:00"}, "occurred_at"),  # no offset
        ({"occurred_at": "2025-10-01"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"event_type": "harvesting"}, "event_type"),
        ({"documents": [{"name": "a.pdf", "sha256": "abc"}]}, "documents.0.sha256"),
        ({"documents": [{"name": "a.pdf", "sha256": "g" * 64}]}, "documents.0.sha256"),
        ({"documents": [{"name": "a.pdf"}]}, "documents.0.sha256"),
        ({"corrects_seq": 1}, "corrects_seq"),  # no event 1 yet
        ({"corrects_seq": 0}, "corrects_seq"),
        ({"seq": 3}, "seq"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_bad_events_are_422_and_nothing_is_written(client, session, setup, overrides, field):
    lot = make_lot(session, setup["product"].id)
    resp = client.post(
        f"/api/v1/lots/{lot.id}/events", json=event_payload(**overrides), headers=setup["me"].headers
    )
    assert resp.status_code == 422, resp.get_json()
    assert any(e["field"].startswith(field) for e in resp.get_json()["errors"]), resp.get_json()
    assert session.query(TraceEvent).filter_by(lot_id=lot.id).count() == 0


def test_future_events_are_refused(client, session, setup):
    lot = make_lot(session, setup["product"].id)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    resp = client.post(
        f"/api/v1/lots/{lot.id}/events", json=event_payload(occurred_at=later), headers=setup["me"].headers
    )
    assert resp.status_code == 422


def test_events_are_append_only_and_corrections_reference_the_old_seq(client, session, setup):
    me = setup["me"]
    lot = make_lot(session, setup["product"].id)
    url = f"/api/v1/lots/{lot.id}/events"
    assert client.post(url, json=event_payload(note="nhiệt độ 8°C"), headers=me.headers).status_code == 201
    fix = client.post(url, json=event_payload(note="nhiệt độ 4°C (sửa)", corrects_seq=1), headers=me.headers)
    assert fix.status_code == 201 and fix.get_json()["corrects_seq"] == 1 and fix.get_json()["seq"] == 2
    for method in (client.put, client.patch, client.delete):
        resp = method(f"{url}/1", json={}, headers=me.headers)
        assert resp.status_code in (404, 405)
        assert resp.content_type == "application/problem+json"
    assert client.delete(url, headers=me.headers).status_code == 405
    events = client.get(f"/api/v1/lots/{lot.id}", headers=me.headers).get_json()["events"]
    assert [e["note"] for e in events] == ["nhiệt độ 8°C", "nhiệt độ 4°C (sửa)"]
    sha = "AB" * 32
    r = client.post(
        url, json=event_payload(documents=[{"name": "kq.pdf", "sha256": sha}]), headers=me.headers
    )
    assert r.get_json()["documents"] == [{"name": "kq.pdf", "sha256": sha.lower()}]


def test_listing_lots_by_product_with_producer_scope(client, session, setup, admin):
    me = setup["me"]
    mine = [make_lot(session, setup["product"].id) for _ in range(3)]
    theirs = make_lot(session, setup["their_product"].id)
    listing = client.get("/api/v1/lots?per_page=2", headers=me.headers).get_json()
    assert (listing["total"], len(listing["items"])) == (3, 2)
    all_ids = {item["id"] for item in client.get("/api/v1/lots", headers=admin.headers).get_json()["items"]}
    assert {lot.id for lot in mine} | {theirs.id} <= all_ids
    by_product = client.get(f"/api/v1/lots?product_id={setup['their_product'].id}", headers=admin.headers)
    assert [i["id"] for i in by_product.get_json()["items"]] == [theirs.id]
    assert (
        client.get(f"/api/v1/lots?product_id={setup['their_product'].id}", headers=me.headers).get_json()[
            "total"
        ]
        == 0
    )
    assert client.get("/api/v1/lots?product_id=abc", headers=me.headers).status_code == 422
