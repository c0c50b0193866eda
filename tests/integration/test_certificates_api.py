"""Certificates through the API: who certifies when, score bands, validity, supersession."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stamp_service.domain.access import Role
from stamp_service.domain.certification import local_today
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Certificate
from tests.factories import certificate_payload, make_caller, make_certificate, make_producer, make_product


@pytest.fixture()
def product(session):
    return make_product(session, make_producer(session).id)


def post(client, caller, payload):
    return client.post("/api/v1/certificates", json=payload, headers=caller.headers)


def test_admin_records_a_decision_valid_for_36_months(client, admin, session, product):
    resp = post(client, admin, certificate_payload(product.id, decision_number="2154/QĐ-UBND"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["signed_on"], body["valid_until"]) == ("2025-09-15", "2028-09-15")
    assert (body["state"], body["status"], body["stars"]) == ("active", "valid", 4)
    entry = session.query(AuditEntry).filter_by(action="certificate.create", entity_id=str(body["id"])).one()
    assert entry.decision["decision_number"] == "2154/QĐ-UBND"
    got = client.get(f"/api/v1/certificates/{body['id']}", headers=admin.headers).get_json()
    assert got["decision_number"] == "2154/QĐ-UBND"
    current = client.get(f"/api/v1/products/{product.id}", headers=admin.headers).get_json()[
        "current_certificate"
    ]
    assert (current["id"], current["stars"], current["status"]) == (body["id"], 4, "valid")


def test_an_explicit_validity_is_kept(client, admin, product):
    resp = post(client, admin, certificate_payload(product.id, valid_until="2027-12-31"))
    assert resp.status_code == 201 and resp.get_json()["valid_until"] == "2027-12-31"


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        (
            {"stars": 3, "score": 60, "authority_level": "district", "signed_on": "2025-08-01"},
            "certifying-authority-level",
        ),
        (
            {"stars": 3, "score": 60, "authority_level": "province", "signed_on": "2024-04-01"},
            "certifying-authority-level",
        ),
        (
            {"stars": 5, "score": 95, "authority_level": "province", "signed_on": "2025-09-01"},
            "certifying-authority-level",
        ),
        (
            {
                "stars": 4,
                "score": 80,
                "authority_level": "district",
                "signed_on": "2021-06-01",
                "criteria_version": "1048/QĐ-TTg",
            },
            "certifying-authority-level",
        ),
        ({"stars": 4, "score": 91}, "score-star-band"),
        ({"stars": 5, "score": 89, "authority_level": "central"}, "score-star-band"),
        ({"signed_on": "2022-12-01", "criteria_version": "148/QĐ-TTg"}, "criteria-version-in-force"),
    ],
)
def test_ocop_rules_are_rule_violations(client, admin, session, product, overrides, rule):
    resp = post(client, admin, certificate_payload(product.id, **overrides))
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()
    assert (problem["type"], problem["rule"]) == ("/problems/rule-violation", rule)
    assert session.query(Certificate).filter_by(product_id=product.id).count() == 0


def test_district_certified_3_stars_between_2023_and_july_2025(client, admin, product):
    resp = post(
        client,
        admin,
        certificate_payload(
            product.id,
            stars=3,
            score=62,
            authority_level="district",
            authority_name="UBND huyện Cẩm Xuyên",
            signed_on="2024-03-12",
        ),
    )
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stars": 6}, "stars"),
        ({"stars": 2, "score": 40}, "stars"),
        ({"stars": "4"}, "stars"),
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"criteria_version": "999/QĐ-TTg"}, "criteria_version"),
        ({"authority_level": "commune"}, "authority_level"),
        ({"decision_number": "quyết định"}, "decision_number"),
        ({"signed_on": "2025-02-30"}, "signed_on"),
        ({"signed_on": "15/09/2025"}, "signed_on"),
        ({"valid_until": "2025-09-15"}, "(body)"),  # not after signed_on
        ({"supersedes_id": 999999}, "supersedes_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_fields_are_422_and_nothing_is_written(client, admin, session, product, overrides, field):
    resp = post(client, admin, certificate_payload(product.id, **overrides))
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["type"] == "/problems/validation-failed"
    assert any(e["field"].startswith(field) for e in resp.get_json()["errors"]), resp.get_json()
    assert session.query(Certificate).filter_by(product_id=product.id).count() == 0


def test_a_future_signing_date_is_refused(client, admin, session, product):
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    resp = post(client, admin, certificate_payload(product.id, signed_on=tomorrow))
    assert resp.status_code == 422
    assert session.query(Certificate).filter_by(product_id=product.id).count() == 0


def test_unknown_product_is_404(client, admin):
    assert post(client, admin, certificate_payload(999999)).status_code == 404


def test_supersession(client, admin, session, product):
    first = make_certificate(session, product.id)
    second_payload = certificate_payload(
        product.id,
        stars=5,
        score=93,
        authority_level="central",
        authority_name="Bộ Nông nghiệp và Môi trường",
        signed_on="2026-03-02",
    )
    clash = post(client, admin, second_payload)
    assert (clash.status_code, clash.get_json()["type"]) == (409, "/problems/conflict")
    assert clash.get_json()["active_certificate_id"] == first.id
    ok = post(client, admin, {**second_payload, "supersedes_id": first.id})
    assert ok.status_code == 201, ok.get_json()
    old = client.get(f"/api/v1/certificates/{first.id}", headers=admin.headers).get_json()
    assert (old["state"], old["status"]) == ("superseded", "superseded")
    assert ok.get_json()["supersedes_id"] == first.id
    # the superseded one cannot be superseded again, and another product's certificate never
    again = post(client, admin, {**second_payload, "supersedes_id": first.id, "decision_number": "9/QĐ-BNN"})
    assert again.status_code == 409
    other = make_product(session, product.producer_id)
    cross = post(client, admin, certificate_payload(other.id, supersedes_id=ok.get_json()["id"]))
    assert cross.status_code == 409
    assert session.query(Certificate).filter_by(product_id=other.id).count() == 0
    assert (
        session.query(AuditEntry).filter_by(action="certificate.supersede", entity_id=str(first.id)).count()
        == 1
    )


def test_only_admins_certify(client, session, product, inspector):
    own = make_caller(session, Role.PRODUCER, product.producer_id)
    for caller in (own, inspector):
        resp = post(client, caller, certificate_payload(product.id))
        assert resp.status_code == 403
    assert client.post("/api/v1/certificates", json=certificate_payload(product.id)).status_code == 401
    assert session.query(Certificate).filter_by(product_id=product.id).count() == 0


def test_listing_by_product_and_state_and_producer_scope(client, session, admin, inspector):
    mine, other = make_producer(session), make_producer(session)
    p1, p2 = make_product(session, mine.id), make_product(session, other.id)
    old = make_certificate(session, p1.id, criteria_version="1048/QĐ-TTg", signed_on="2021-05-10")
    new = make_certificate(session, p1.id, supersedes_id=old.id)
    expired = make_certificate(session, p2.id, criteria_version="1048/QĐ-TTg", signed_on="2020-01-10")

    def ids(caller, qs=""):
        resp = client.get(f"/api/v1/certificates?per_page=200&{qs}", headers=caller.headers)
        assert resp.status_code == 200, resp.get_json()
        return {c["id"] for c in resp.get_json()["items"]}

    assert ids(admin) == {old.id, new.id, expired.id}
    assert ids(admin, f"product_id={p1.id}") == {old.id, new.id}
    assert ids(admin, "state=valid") == {new.id}
    assert ids(admin, "state=superseded") == {old.id}
    assert ids(admin, "state=expired") == {expired.id}
    assert ids(inspector, "state=withdrawn") == set()
    me = make_caller(session, Role.PRODUCER, mine.id)
    assert ids(me) == {old.id, new.id}
    assert client.get(f"/api/v1/certificates/{expired.id}", headers=me.headers).status_code == 404
    assert (
        client.get(f"/api/v1/certificates/{expired.id}", headers=inspector.headers).get_json()["status"]
        == "expired"
    )
    for qs in ("state=active", "product_id=x", "per_page=500"):
        assert client.get(f"/api/v1/certificates?{qs}", headers=admin.headers).status_code == 422
