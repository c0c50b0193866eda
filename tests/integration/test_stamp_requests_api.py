"""Stamp requests over HTTP: creation, idempotency, every refusal, approval, rejection, auto-approval."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stamp_service.domain.access import Role
from stamp_service.storage.models.registry import Certificate
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.factories import make_caller
from tests.issuance_helpers import (
    approve,
    audit_count,
    certified,
    expired_certificate_kwargs,
    post_request,
    request_count,
)
from tests.stamp_factories import ensure_keyring, make_request


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def setup(session):
    return certified(session)


def problem(response, status: int, kind: str):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == f"/problems/{kind}"
    return body


def test_producer_requests_stamps_and_sees_its_progress(client, session, setup):
    r = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 40, "with_pin": True})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["state"] == "requested" and body["quantity_requested"] == 40 and body["with_pin"] is True
    assert body["producer_id"] == setup.producer.id and body["stars_at_request"] == 4
    assert r.headers["Location"] == f"/api/v1/stamp-requests/{body['id']}"
    got = client.get(f"/api/v1/stamp-requests/{body['id']}", headers=setup.caller.headers).get_json()
    assert got["progress"] == {
        "state": "requested",
        "issued_count": 0,
        "quantity_approved": None,
        "stop_reason": None,
        "percent": 0,
    }
    assert audit_count(session, "stamp_request.create") >= 1


def test_same_idempotency_key_and_body_returns_the_same_request(client, session, setup):
    body = {"lot_id": setup.lot.id, "quantity": 10}
    first = post_request(client, setup.caller, body, key="retry-1")
    before = request_count(session)
    second = post_request(client, setup.caller, body, key="retry-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == second.get_json()["id"]
    assert request_count(session) == before


def test_same_idempotency_key_with_another_body_is_refused(client, session, setup):
    first = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 10}, key="k-2")
    before = request_count(session)
    r = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 11}, key="k-2")
    problem(r, 409, "idempotency-key-reused")
    assert request_count(session) == before
    # The earlier request is named in its own field; ``request_id`` stays this call's trace id.
    body = r.get_json()
    assert body["request_id"] == r.headers["X-Request-ID"]
    assert body["stamp_request_id"] == first.get_json()["id"]


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 129])
def test_a_missing_or_bad_idempotency_key_is_refused(client, session, setup, key):
    before = request_count(session)
    r = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 10}, key=key)
    body = problem(r, 422, "validation-failed")
    assert body["errors"][0]["field"] == "header.Idempotency-Key"
    assert request_count(session) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"quantity": 0},
        {"quantity": -5},
        {"quantity": "10"},
        {"quantity": 10, "extra": 1},
        {"quantity": 10, "with_pin": "yes"},
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(client, session, setup, payload):
    before = request_count(session)
    r = post_request(client, setup.caller, {"lot_id": setup.lot.id, **payload})
    problem(r, 422, "validation-failed")
    assert request_count(session) == before


def _refused(client, session, caller, lot_id, quantity, status, kind, rule=None):  # type: ignore[no-untyped-def]
    before = request_count(session)
    body = problem(post_request(client, caller, {"lot_id": lot_id, "quantity": quantity}), status, kind)
    assert request_count(session) == before
    if rule:
        assert body["rule"] == rule, body
    return body


def test_refused_without_certificate(client, session):
    s = certified(session)
    cert = session.get(Certificate, s.certificate.id)
    session.delete(cert)
    session.commit()
    _refused(client, session, s.caller, s.lot.id, 5, 422, "rule-violation", "no-valid-certificate")


def test_refused_with_an_expired_certificate(client, session):
    s = certified(session, **expired_certificate_kwargs())
    _refused(client, session, s.caller, s.lot.id, 5, 422, "rule-violation", "certificate-expired")


def test_refused_with_a_withdrawn_certificate(client, session, setup):
    setup.certificate.state = "withdrawn"
    session.commit()
    _refused(client, session, setup.caller, setup.lot.id, 5, 422, "rule-violation", "certificate-withdrawn")


def test_refused_when_the_stars_were_reduced_below_three(client, session, setup):
    old = setup.certificate
    old.state = "superseded"
    session.flush()
    session.add(
        Certificate(
            product_id=old.product_id,
            stars=2,
            score=40,
            criteria_version=old.criteria_version,
            authority_name=old.authority_name,
            authority_level=old.authority_level,
            decision_number="77/QĐ-UBND",
            signed_on=old.signed_on,
            valid_until=old.valid_until,
            supersedes_id=old.id,
            state="active",
        )
    )
    session.commit()
    _refused(client, session, setup.caller, setup.lot.id, 5, 422, "rule-violation", "stars-below-three")


def test_refused_for_a_recalled_lot(client, session, setup):
    setup.lot.recall = {"reason": "test", "decision": "1/QĐ"}
    session.commit()
    _refused(client, session, setup.caller, setup.lot.id, 5, 422, "rule-violation", "lot-recalled")


def test_another_producers_lot_or_an_unknown_lot_is_not_found(client, session, setup):
    other = certified(session)
    _refused(client, session, setup.caller, other.lot.id, 5, 404, "not-found")
    _refused(client, session, setup.caller, 2**31 - 1, 5, 404, "not-found")


def test_lot_quantity_plus_spare_is_the_ceiling(client, session, setup):
    # lot of 100, 2 % spare: at most 102 stamps over all non-rejected requests
    body = _refused(
        client, session, setup.caller, setup.lot.id, 103, 422, "rule-violation", "lot-quantity-exceeded"
    )
    assert body["limit"] == 102 and body["available"] == 102
    assert post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 60}).status_code == 201
    body = _refused(
        client, session, setup.caller, setup.lot.id, 43, 422, "rule-violation", "lot-quantity-exceeded"
    )
    assert body["available"] == 42
    assert post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 42}).status_code == 201


def test_roles_inspector_forbidden_anonymous_unauthenticated(client, session, setup, inspector):
    body = {"lot_id": setup.lot.id, "quantity": 5}
    problem(post_request(client, inspector, body), 403, "forbidden")
    problem(
        client.post("/api/v1/stamp-requests", json=body, headers={"Idempotency-Key": "a"}),
        401,
        "unauthenticated",
    )


def test_admin_requests_on_behalf_of_the_producer(client, session, setup, admin):
    r = post_request(client, admin, {"lot_id": setup.lot.id, "quantity": 5})
    assert r.status_code == 201 and r.get_json()["producer_id"] == setup.producer.id


def test_admin_approves_fewer_and_the_stamps_are_issued_in_the_call(client, session, setup, admin, keyring):
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 12}).get_json()["id"]
    r = approve(client, admin, rid, {"quantity": 9, "reason": "first print run"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["state"], body["quantity_approved"], body["issued_count"]) == ("issued", 9, 9)
    assert body["decision_reason"] == "first print run" and body["decided_by"] == admin.account_id
    assert session.scalar(select(func.count()).where(Stamp.request_id == rid)) == 9
    assert audit_count(session, "stamp_request.approve") >= 1
    problem(approve(client, admin, rid), 409, "conflict")  # already decided


def test_approval_refusals_change_nothing(client, session, setup, admin, keyring):
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 12}).get_json()["id"]
    problem(approve(client, setup.caller, rid), 403, "forbidden")
    problem(approve(client, admin, rid, {"quantity": 13}), 422, "validation-failed")
    problem(approve(client, admin, rid, {"quantity": 0}), 422, "validation-failed")
    problem(approve(client, admin, 2**31 - 1), 404, "not-found")
    setup.certificate.state = "withdrawn"
    session.commit()
    body = problem(approve(client, admin, rid), 422, "rule-violation")
    assert body["rule"] == "certificate-withdrawn"
    request = session.get(StampRequest, rid)
    session.refresh(request)
    assert request.state == "requested" and request.quantity_approved is None


def test_approval_rechecks_the_lot_ceiling(client, session, setup, admin, keyring):
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 60}).get_json()["id"]
    # a second pending request that got in without the check (e.g. before the spare was lowered)
    make_request(
        session,
        producer=setup.producer,
        product=setup.product,
        certificate=setup.certificate,
        lot=setup.lot,
        quantity=60,
        state="approved",
    )
    body = problem(approve(client, admin, rid), 422, "rule-violation")
    assert body["rule"] == "lot-quantity-exceeded"
    assert approve(client, admin, rid, {"quantity": 42}).get_json()["state"] == "issued"


def test_reject_needs_a_reason_and_frees_the_lot(client, session, setup, admin):
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 100}).get_json()["id"]
    url = f"/api/v1/stamp-requests/{rid}/reject"
    problem(client.post(url, json={}, headers=admin.headers), 422, "validation-failed")
    problem(client.post(url, json={"reason": "not mine"}, headers=setup.caller.headers), 403, "forbidden")
    r = client.post(url, json={"reason": "lot already stamped"}, headers=admin.headers)
    assert r.status_code == 200 and r.get_json()["state"] == "rejected"
    problem(client.post(url, json={"reason": "again"}, headers=admin.headers), 409, "conflict")
    assert post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 100}).status_code == 201
    assert audit_count(session, "stamp_request.reject") >= 1


def test_listing_is_scoped_and_filtered(client, session, setup, admin):
    other = certified(session)
    post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 5})
    post_request(client, other.caller, {"lot_id": other.lot.id, "quantity": 5})
    mine = client.get("/api/v1/stamp-requests", headers=setup.caller.headers).get_json()
    assert {i["producer_id"] for i in mine["items"]} == {setup.producer.id}
    by_lot = client.get(
        f"/api/v1/stamp-requests?lot_id={other.lot.id}&state=requested", headers=admin.headers
    ).get_json()
    assert by_lot["total"] == 1 and by_lot["items"][0]["lot_id"] == other.lot.id
    problem(client.get("/api/v1/stamp-requests?state=lost", headers=admin.headers), 422, "validation-failed")
    theirs = by_lot["items"][0]["id"]
    problem(client.get(f"/api/v1/stamp-requests/{theirs}", headers=setup.caller.headers), 404, "not-found")


def test_auto_approval_policy(client, session, setup, admin, keyring):
    url = f"/api/v1/producers/{setup.producer.id}/auto-approval"
    problem(client.get(url, headers=admin.headers), 404, "not-found")
    problem(client.put(url, json={"max_quantity": 20}, headers=setup.caller.headers), 403, "forbidden")
    problem(client.put(url, json={"max_quantity": 0}, headers=admin.headers), 422, "validation-failed")
    assert client.put(url, json={"max_quantity": 20}, headers=admin.headers).status_code == 200
    assert client.get(url, headers=setup.caller.headers).get_json()["max_quantity"] == 20
    small = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 20}).get_json()
    assert (small["state"], small["issued_count"]) == ("issued", 20)
    assert small["decision_reason"].startswith("auto-approved")
    big = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 21}).get_json()
    assert big["state"] == "requested"
    assert audit_count(session, "stamp_request.auto_approve") >= 1
    other = make_caller(session, Role.PRODUCER, certified(session).producer.id)
    problem(client.get(url, headers=other.headers), 404, "not-found")
    assert client.delete(url, headers=admin.headers).status_code == 204
    problem(client.delete(url, headers=admin.headers), 404, "not-found")
