"""Voids, key compromise and rotation, and the revocation reports through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stamp_service.domain import serials
from stamp_service.domain.access import Role
from stamp_service.domain.bundle import OfflineVerdict
from stamp_service.domain.status import Cause, Verdict
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.stamps import StampVoid
from tests.factories import make_caller
from tests.revocation_support import audit_count, decision, last_audit, offline, served_bundle, verdict
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=4)


def void(client, caller, **body):
    payload = {"reason_code": "lost", "reason": "mất cuộn tem khi vận chuyển"} | body
    return client.post("/api/v1/voids", json=payload, headers=caller.headers)


# -- voids -------------------------------------------------------------------------------------------


def test_office_voids_a_range_then_one_serial(client, session, admin, keyring, batch):
    resp = void(client, admin, request_id=batch.request.id, seq_from=2, seq_to=3, decision=decision("05/BB"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["changed"] and (body["voids"][0]["seq_from"], body["voids"][0]["seq_to"]) == (2, 3)
    verdicts = [verdict(session, keyring, t) for t in batch.tokens]
    assert [v.verdict for v in verdicts] == [
        Verdict.GENUINE,
        Verdict.REVOKED,
        Verdict.REVOKED,
        Verdict.GENUINE,
    ]
    assert verdicts[1].primary.cause is Cause.STAMP_VOIDED and verdicts[1].primary.decision.number == "05/BB"
    entry = last_audit(session, "stamps.void", body["voids"][0]["id"])
    assert entry.after["count"] == 2 and entry.after["reason_code"] == "lost"
    bundle = served_bundle(client, session)
    assert [bundle.is_voided(serials.from_db(s.serial)) for s in batch.stamps] == [False, True, True, False]
    assert offline(bundle, batch.tokens[2]).cause == "stamp_voided"

    again = void(client, admin, request_id=batch.request.id, seq_from=3, seq_to=3)
    assert (
        again.get_json()["changed"] is False and again.get_json()["voids"][0]["id"] == body["voids"][0]["id"]
    )
    assert audit_count(session, "stamps.void") == 1

    text = serials.format_serial(serials.from_db(batch.stamps[3].serial))
    one = void(client, admin, serial=text.lower(), reason_code="copied", reason="bản sao đã được chứng minh")
    assert one.status_code == 200 and one.get_json()["voids"][0]["seq_from"] == 4
    assert verdict(session, keyring, batch.tokens[3]).verdict is Verdict.REVOKED
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.GENUINE


def test_producer_voids_only_its_own_spoiled_or_unprinted_stamps(client, session, keyring, batch):
    own = make_caller(session, Role.PRODUCER, batch.producer.id)
    resp = void(client, own, request_id=batch.request.id, seq_from=1, reason_code="spoiled", reason="in lem")
    assert resp.status_code == 200 and resp.get_json()["voids"][0]["voided_by"] == own.account_id
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.REVOKED
    assert (
        void(
            client, own, request_id=batch.request.id, seq_from=2, reason_code="other", reason="không in, thừa"
        ).status_code
        == 200
    )
    for code in ("lost", "copied"):
        assert void(client, own, request_id=batch.request.id, seq_from=4, reason_code=code).status_code == 403
    other_batch = make_issued_batch(session, keyring, n=1)
    resp = void(client, own, request_id=other_batch.request.id, seq_from=1, reason_code="spoiled")
    assert resp.status_code == 404
    inspector = make_caller(session, Role.INSPECTOR)
    assert void(client, inspector, request_id=batch.request.id, seq_from=4).status_code == 403
    assert session.scalars(select(StampVoid.seq_from).order_by(StampVoid.id)).all() == [1, 2]


@pytest.mark.parametrize(
    "body",
    [
        {"seq_from": 1},  # no request
        {"request_id": 1},  # no slot
        {"serial": "028T-5CY4-TQKF-FX", "request_id": 1, "seq_from": 1},  # both targets
        {"serial": "028T-5CY4-TQKF-FY"},  # typo (check character)
        {"request_id": 1, "seq_from": 3, "seq_to": 2},
        {"request_id": 1, "seq_from": 1, "reason_code": "stolen"},
        {"request_id": 1, "seq_from": 1, "reason": ""},
    ],
)
def test_bad_voids_are_422_and_change_nothing(client, session, admin, batch, body):
    body = {k: (batch.request.id if k == "request_id" else v) for k, v in body.items()}
    resp = void(client, admin, **body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert session.scalars(select(StampVoid)).all() == []


def test_only_issued_slots_can_be_voided(client, session, admin, batch):
    assert void(client, admin, request_id=batch.request.id, seq_from=4, seq_to=5).status_code == 422
    assert void(client, admin, request_id=999_999, seq_from=1).status_code == 404
    assert void(client, admin, serial="028T-5CY4-TQKF-FX").status_code == 404  # well-formed, never issued


# -- signing keys ------------------------------------------------------------------------------------


def test_compromise_flags_stamps_online_and_makes_them_check_online_offline(
    client, session, admin, keyring, batch
):
    kid = batch.stamps[0].kid
    assert verdict(session, keyring, batch.tokens[0]).warnings == ()
    resp = client.post(
        f"/api/v1/signing-keys/{kid}/compromise",
        json={"reason": "máy tính bị đánh cắp"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["changed"] and body["key"]["state"] == "compromised"
    new_kid = body["active"]["kid"]
    assert new_kid != kid
    status = verdict(session, keyring, batch.tokens[0])
    assert status.verdict is Verdict.GENUINE and status.warnings[0].cause is Cause.KEY_COMPROMISED
    assert last_audit(session, "signing_key.compromise", kid).reason == "máy tính bị đánh cắp"
    bundle = served_bundle(client, session)
    assert bundle.kid.hex() == new_kid
    assert bundle.keys[bytes.fromhex(kid)].state == "compromised"
    assert bundle.keys[bytes.fromhex(kid)].compromised_at > 0
    assert bundle.keys[bytes.fromhex(new_kid)].state == "active"
    assert offline(bundle, batch.tokens[0]).verdict is OfflineVerdict.CHECK_ONLINE

    again = client.post(
        f"/api/v1/signing-keys/{kid}/compromise", json={"reason": "lần nữa"}, headers=admin.headers
    )
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert again.get_json()["active"]["kid"] == new_kid
    assert audit_count(session, "signing_key.compromise") == 1


def test_key_actions_refuse_bad_input_and_other_roles(client, session, admin, inspector, batch):
    kid = batch.stamps[0].kid
    url = f"/api/v1/signing-keys/{kid}/compromise"
    assert client.post(url, json={"reason": "x"}, headers=admin.headers).status_code == 422
    assert (
        client.post(url, json={"reason": "bị lộ", "replace": "yes"}, headers=admin.headers).status_code == 422
    )
    assert client.post(url, json={"reason": "bị lộ"}, headers=inspector.headers).status_code == 403
    assert (
        client.post(
            "/api/v1/signing-keys/00000000/compromise", json={"reason": "bị lộ"}, headers=admin.headers
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/signing-keys/zz/compromise", json={"reason": "bị lộ"}, headers=admin.headers
        ).status_code
        == 404
    )
    assert session.get(SigningKey, kid).state == "active"


def test_rotation_is_idempotent_and_old_stamps_stay_genuine(client, session, admin, keyring, batch):
    kid = batch.stamps[0].kid
    resp = client.post(
        "/api/v1/signing-keys/rotation", json={"retire_kid": kid, "force": True}, headers=admin.headers
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["changed"] and body["key"]["state"] == "retired" and body["active"]["kid"] != kid
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.GENUINE
    bundle = served_bundle(client, session)
    assert bundle.keys[bytes.fromhex(kid)].state == "retired"
    assert offline(bundle, batch.tokens[0]).verdict is OfflineVerdict.GENUINE
    again = client.post(
        "/api/v1/signing-keys/rotation", json={"retire_kid": kid, "force": True}, headers=admin.headers
    )
    assert again.get_json()["changed"] is False and again.get_json()["active"]["kid"] == body["active"]["kid"]
    assert (
        client.post(
            "/api/v1/signing-keys/rotation", json={"retire_kid": "nothex!!"}, headers=admin.headers
        ).status_code
        == 422
    )


# -- reports -----------------------------------------------------------------------------------------


def test_history_and_reports_show_each_revocation(client, session, admin, inspector, keyring, batch):
    other = make_issued_batch(session, keyring, n=2)
    client.post(
        f"/api/v1/certificates/{batch.certificate.id}/withdrawal",
        json={"decision": decision(), "reason": "vi phạm"},
        headers=admin.headers,
    )
    client.post(
        f"/api/v1/lots/{other.lot.id}/recall",
        json={"reason": "thu hồi", "decision": decision("12/QĐ-CCATTP", "2026-11-20")},
        headers=admin.headers,
    )
    void(client, admin, request_id=other.request.id, seq_from=1, seq_to=2)

    history = client.get(f"/api/v1/products/{batch.product.id}/revocation-history", headers=inspector.headers)
    assert history.status_code == 200
    body = history.get_json()
    assert body["current_certificate"]["status"] == "withdrawn"
    assert [e["action"] for e in body["events"]] == ["certificate.create", "certificate.withdraw"]
    assert body["events"][1]["decision"]["number"] == "3763/QĐ-UBND"
    own = make_caller(session, Role.PRODUCER, batch.producer.id)
    assert (
        client.get(f"/api/v1/products/{batch.product.id}/revocation-history", headers=own.headers).status_code
        == 200
    )
    stranger = make_caller(session, Role.PRODUCER, other.producer.id)
    assert (
        client.get(
            f"/api/v1/products/{batch.product.id}/revocation-history", headers=stranger.headers
        ).status_code
        == 404
    )
    other_history = client.get(
        f"/api/v1/products/{other.product.id}/revocation-history", headers=admin.headers
    ).get_json()
    assert {"lot.recall", "stamps.void"} <= {e["action"] for e in other_history["events"]}
    assert [lot["id"] for lot in other_history["recalled_lots"]] == [other.lot.id]

    province = batch.producer.province_code
    revoked = client.get(
        f"/api/v1/reports/revoked-products?province={province}", headers=admin.headers
    ).get_json()
    item = next(i for i in revoked["items"] if i["product_id"] == batch.product.id)
    assert (item["cause"], item["decision_number"], item["decided_on"]) == (
        "stars_withdrawn",
        "3763/QĐ-UBND",
        "2026-11-18",
    )
    assert other.product.id not in [i["product_id"] for i in revoked["items"]]
    none = client.get("/api/v1/reports/revoked-products?since=2026-11-19", headers=admin.headers).get_json()
    assert batch.product.id not in [i["product_id"] for i in none["items"]]

    lots = client.get(
        "/api/v1/reports/recalled-lots?since=2026-11-20&until=2026-11-20", headers=inspector.headers
    ).get_json()
    assert [i["lot_id"] for i in lots["items"] if i["lot_id"] == other.lot.id] == [other.lot.id]
    assert (
        client.get("/api/v1/reports/recalled-lots?province=01", headers=admin.headers).get_json()["total"]
        == 0
    )

    voids = client.get(
        f"/api/v1/reports/voided-ranges?reason_code=lost&request_id={other.request.id}", headers=admin.headers
    ).get_json()
    assert voids["total"] == 1 and voids["items"][0]["lot_id"] == other.lot.id
    assert (
        client.get("/api/v1/reports/voided-ranges?until=2020-01-01", headers=admin.headers).get_json()[
            "total"
        ]
        == 0
    )

    for url in (
        "/api/v1/reports/revoked-products",
        "/api/v1/reports/recalled-lots",
        "/api/v1/reports/voided-ranges",
    ):
        assert client.get(url, headers=own.headers).status_code == 403
        assert client.get(url).status_code == 401
        for bad in ("province=abc", "since=yesterday", "per_page=0", "nope=1"):
            assert client.get(f"{url}?{bad}", headers=admin.headers).status_code == 422
    assert client.get("/api/v1/products/999999/revocation-history", headers=admin.headers).status_code == 404


def test_rotation_waits_for_a_key_published_long_enough_unless_forced(client, session, admin, keyring, batch):
    """Issue 14: the API rotation obeys the publish period (scanners must know the key first)."""
    from datetime import timedelta

    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import keys as key_service

    kid = batch.stamps[0].kid
    none_pending = client.post(
        "/api/v1/signing-keys/rotation", json={"retire_kid": kid}, headers=admin.headers
    )
    assert none_pending.status_code == 409 and "pending" in none_pending.get_json()["detail"]
    pending = key_service.publish(session, SYSTEM, keyring=keyring)
    too_early = client.post("/api/v1/signing-keys/rotation", json={"retire_kid": kid}, headers=admin.headers)
    assert too_early.status_code == 409 and pending.kid in too_early.get_json()["detail"]
    assert session.get(SigningKey, kid).state == "active"
    pending.created_at -= timedelta(days=8)  # published before the bundle's validity and its rebuild
    session.commit()
    resp = client.post("/api/v1/signing-keys/rotation", json={"retire_kid": kid}, headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["active"]["kid"] == pending.kid
