"""Accounts and API tokens through the API (admins only); tokens are shown once and revocable."""

from __future__ import annotations

import pytest

from stamp_service.domain.access import Role
from stamp_service.services.accounts import hash_token
from stamp_service.storage.models.accounts import Account, ApiToken
from stamp_service.storage.models.audit import AuditEntry
from tests.factories import make_caller, make_producer


def test_admin_creates_a_producer_account_whose_token_works_once_shown(client, session, admin):
    producer = make_producer(session)
    resp = client.post(
        "/api/v1/accounts",
        json={
            "name": "htx-phuc-trach",
            "role": "producer",
            "producer_id": producer.id,
            "token_label": "office PC",
        },
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["account"]["role"] == "producer" and body["account"]["producer_id"] == producer.id
    token = body["token"]["token"]
    row = session.get(ApiToken, body["token"]["token_id"])
    assert row.token_hash == hash_token(token) and token not in (row.prefix, row.label)
    me = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/producers/{producer.id}", headers=me).status_code == 200
    listed = client.get(f"/api/v1/accounts/{body['account']['id']}/tokens", headers=admin.headers).get_json()
    assert [t["label"] for t in listed] == ["office PC"] and "token" not in listed[0]
    assert session.query(AuditEntry).filter_by(action="account.create").count() >= 1


def test_more_tokens_and_revocation(client, session, admin):
    inspector = make_caller(session, Role.INSPECTOR)
    resp = client.post(
        f"/api/v1/accounts/{inspector.account_id}/tokens", json={"label": "phone"}, headers=admin.headers
    )
    assert resp.status_code == 201
    new = resp.get_json()
    headers = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/v1/products", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/tokens/{new['token_id']}", headers=admin.headers).status_code == 204
    assert client.get("/api/v1/products", headers=headers).status_code == 401
    assert (
        client.get("/api/v1/products", headers=inspector.headers).status_code == 200
    )  # the other token lives
    again = client.delete(f"/api/v1/tokens/{new['token_id']}", headers=admin.headers)
    assert (again.status_code, again.get_json()["type"]) == (409, "/problems/conflict")
    assert client.delete("/api/v1/tokens/999999", headers=admin.headers).status_code == 404
    assert client.post("/api/v1/accounts/999999/tokens", json={}, headers=admin.headers).status_code == 404
    entry = session.query(AuditEntry).filter_by(action="token.revoke", entity_id=str(new["token_id"])).one()
    assert entry.after["revoked_at"]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"name": "x", "role": "admin"}, 422, "name"),
        ({"name": "has space", "role": "admin"}, 422, "name"),
        ({"name": "boss", "role": "root"}, 422, "role"),
        ({"name": "p1", "role": "producer"}, 422, "producer_id"),  # producer needs its producer
        ({"name": "i1", "role": "inspector", "producer_id": 1}, 422, "producer_id"),
        ({"name": "p2", "role": "producer", "producer_id": 999999}, 404, None),
        ({"name": "p3", "role": "producer", "producer_id": "1"}, 422, "producer_id"),
        ({"name": "a1", "role": "admin", "is_root": True}, 422, "is_root"),
    ],
)
def test_bad_account_requests_change_nothing(client, session, admin, payload, status, field):
    before = session.query(Account).count()
    resp = client.post("/api/v1/accounts", json=payload, headers=admin.headers)
    assert resp.status_code == status, resp.get_json()
    if field:
        assert any(e["field"].startswith(field) for e in resp.get_json()["errors"]), resp.get_json()
    assert session.query(Account).count() == before


def test_duplicate_names_conflict(client, admin):
    payload = {"name": "office-2", "role": "admin"}
    assert client.post("/api/v1/accounts", json=payload, headers=admin.headers).status_code == 201
    assert client.post("/api/v1/accounts", json=payload, headers=admin.headers).status_code == 409


def test_only_admins_manage_accounts(client, session, admin, inspector):
    producer = make_producer(session)
    own = make_caller(session, Role.PRODUCER, producer.id)
    before = (session.query(Account).count(), session.query(ApiToken).count())
    for caller in (own, inspector):
        h = caller.headers
        assert (
            client.post("/api/v1/accounts", json={"name": "sneaky", "role": "admin"}, headers=h).status_code
            == 403
        )
        assert (
            client.post(f"/api/v1/accounts/{caller.account_id}/tokens", json={}, headers=h).status_code == 403
        )
        listed = client.get("/api/v1/accounts", headers=h)
        if caller is own:  # a producer's administrator lists its own producer's accounts only
            assert listed.status_code == 200
            assert [a["id"] for a in listed.get_json()["items"]] == [own.account_id]
        else:
            assert listed.status_code == 403
        token_id = session.query(ApiToken.id).filter_by(account_id=admin.account_id).scalar()
        assert client.delete(f"/api/v1/tokens/{token_id}", headers=h).status_code == 403
    assert client.post("/api/v1/accounts", json={"name": "anon", "role": "admin"}).status_code == 401
    assert (session.query(Account).count(), session.query(ApiToken).count()) == before
    page = client.get("/api/v1/accounts?role=inspector", headers=admin.headers).get_json()
    assert inspector.account_id in {a["id"] for a in page["items"]}
    assert client.get("/api/v1/accounts?role=boss", headers=admin.headers).status_code == 422


def test_a_long_unknown_name_at_the_scanner_sign_in_is_a_plain_refusal(client):
    """schemathesis found a 500: the audit entry of the failure could not hold a 200-character name."""
    resp = client.post(
        "/api/v1/device-tokens", json={"name": "0" * 200, "password": "not the password", "device_label": "s"}
    )
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
