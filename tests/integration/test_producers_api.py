"""Producers through the API: the pattern every registry endpoint's tests follow."""

from __future__ import annotations

import pytest

from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Producer
from tests.factories import make_caller, make_producer, producer_payload


@pytest.fixture()
def admin(session):
    return make_caller(session, Role.ADMIN)


def test_admin_registers_a_producer_with_an_address_snapshot(client, admin, session):
    resp = client.post(
        "/api/v1/producers", json=producer_payload(name="HTX Bưởi Phúc Trạch"), headers=admin.headers
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["name"] == "HTX Bưởi Phúc Trạch"
    assert body["province_code"] == "42"
    assert body["address_snapshot"]["commune_name"] == "Xã Phúc Trạch"
    assert body["address_snapshot"]["text"] == "Thôn 3, Xã Phúc Trạch, Tỉnh Hà Tĩnh"
    entry = session.query(AuditEntry).filter_by(action="producer.create", entity_id=str(body["id"])).one()
    assert entry.after["name"] == "HTX Bưởi Phúc Trạch"
    assert entry.actor.startswith("admin:")


def test_household_needs_a_registration_number_but_a_cooperative_group_does_not(client, admin):
    bad = client.post(
        "/api/v1/producers",
        json=producer_payload(legal_type="household", registration_number=None),
        headers=admin.headers,
    )
    assert bad.status_code == 422
    assert bad.content_type == "application/problem+json"
    ok = client.post(
        "/api/v1/producers",
        json=producer_payload(legal_type="cooperative_group", registration_number=None),
        headers=admin.headers,
    )
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (producer_payload(legal_type="company"), "legal_type"),
        (producer_payload(commune_code=18418), "commune_code"),  # wrong JSON type
        (producer_payload(unknown_field="x"), "unknown_field"),
        (producer_payload(commune_code="99999"), "commune_code"),  # not a known commune
        (producer_payload(email="not-an-email"), "email"),
        (producer_payload(gs1_company_prefix="8801234"), "gs1_company_prefix"),  # not Vietnam's 893
    ],
)
def test_bad_fields_are_listed_and_nothing_is_written(client, admin, session, payload, field):
    before = session.query(Producer).count()
    resp = client.post("/api/v1/producers", json=payload, headers=admin.headers)
    assert resp.status_code == 422
    problem = resp.get_json()
    assert problem["type"] == "/problems/validation-failed"
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert session.query(Producer).count() == before


def test_malformed_json_wrong_media_type_and_oversize_bodies_are_4xx(client, admin):
    r = client.post(
        "/api/v1/producers", data=b"{not json", headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert (r.status_code, r.get_json()["type"]) == (400, "/problems/malformed-request")
    r = client.post(
        "/api/v1/producers",
        data=b"name=x",
        headers={**admin.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.get_json()["type"]) == (415, "/problems/unsupported-media-type")
    r = client.post(
        "/api/v1/producers",
        data=b"[" + b"1," * 200_000 + b"1]",
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    r = client.post("/api/v1/producers", json=[1, 2], headers=admin.headers)
    assert r.status_code == 422


def test_duplicate_registration_number_is_a_conflict(client, admin):
    payload = producer_payload()
    assert client.post("/api/v1/producers", json=payload, headers=admin.headers).status_code == 201
    again = client.post("/api/v1/producers", json=payload, headers=admin.headers)
    assert again.status_code == 409
    assert again.get_json()["type"] == "/problems/conflict"


def test_only_admins_register_producers(client, session):
    producer = make_producer(session)
    for caller in (make_caller(session, Role.INSPECTOR), make_caller(session, Role.PRODUCER, producer.id)):
        resp = client.post("/api/v1/producers", json=producer_payload(), headers=caller.headers)
        assert resp.status_code == 403
    assert client.post("/api/v1/producers", json=producer_payload()).status_code == 401
    bad_token = {"Authorization": "Bearer ocop_not-a-real-token"}
    assert client.post("/api/v1/producers", json=producer_payload(), headers=bad_token).status_code == 401


def test_a_producer_sees_and_changes_only_itself(client, session):
    mine, other = make_producer(session), make_producer(session)
    me = make_caller(session, Role.PRODUCER, mine.id)
    listing = client.get("/api/v1/producers", headers=me.headers).get_json()
    assert [p["id"] for p in listing["items"]] == [mine.id]
    assert client.get(f"/api/v1/producers/{other.id}", headers=me.headers).status_code == 404
    r = client.patch(f"/api/v1/producers/{other.id}", json={"phone": "0912345678"}, headers=me.headers)
    assert r.status_code == 404
    r = client.patch(f"/api/v1/producers/{mine.id}", json={"phone": "0912345678"}, headers=me.headers)
    assert r.status_code == 200 and r.get_json()["phone"] == "0912345678"


def test_inspectors_read_everything_and_change_nothing(client, session):
    producer = make_producer(session)
    inspector = make_caller(session, Role.INSPECTOR)
    assert client.get(f"/api/v1/producers/{producer.id}", headers=inspector.headers).status_code == 200
    r = client.patch(
        f"/api/v1/producers/{producer.id}", json={"phone": "0912345678"}, headers=inspector.headers
    )
    assert r.status_code == 403


def test_listing_filters_and_paginates(client, session):
    admin = make_caller(session, Role.ADMIN)
    made = [make_producer(session) for _ in range(3)]
    page = client.get("/api/v1/producers?province=42&per_page=2&page=1", headers=admin.headers).get_json()
    assert page["per_page"] == 2 and len(page["items"]) == 2 and page["total"] >= 3
    none = client.get("/api/v1/producers?province=38", headers=admin.headers).get_json()
    assert none["total"] == 0
    assert made[0].id in {
        p["id"]
        for p in client.get("/api/v1/producers?per_page=200", headers=admin.headers).get_json()["items"]
    }
    bad = client.get("/api/v1/producers?per_page=0&bogus=1", headers=admin.headers)
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.get_json()["errors"]}
    assert {"query.per_page", "query.bogus"} <= fields
