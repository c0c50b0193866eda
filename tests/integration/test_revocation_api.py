"""Withdrawal, reduction, re-certification, expiry notices and lot recalls through the API.

Each action: the verdict of issued stamps before and after (check_token), its audit entry,
the served bundle's content and offline verdict, idempotent repeats, bad input and wrong roles.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from stamp_service.domain.access import Role
from stamp_service.domain.bundle import OfflineVerdict, Section
from stamp_service.domain.certification import local_today
from stamp_service.domain.status import Cause, Verdict
from stamp_service.services import minting
from stamp_service.storage.models.registry import Certificate, Lot
from stamp_service.storage.models.stamps import Stamp
from tests.factories import make_caller, make_certificate, make_lot, make_producer, make_product
from tests.revocation_support import audit_count, decision, last_audit, offline, served_bundle, verdict
from tests.stamp_factories import ensure_keyring, make_issued_batch, make_request


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=3)


def withdraw(client, caller, cert_id, **body):
    payload = {"decision": decision(), "reason": "không duy trì chất lượng như khi công nhận"} | body
    return client.post(f"/api/v1/certificates/{cert_id}/withdrawal", json=payload, headers=caller.headers)


def reduce(client, caller, cert_id, stars, **body):
    payload = {"stars": stars, "decision": decision("4100/QĐ-UBND"), "reason": "bao bì không đạt"} | body
    return client.post(f"/api/v1/certificates/{cert_id}/reduction", json=payload, headers=caller.headers)


# -- withdrawal --------------------------------------------------------------------------------------


def test_withdrawal_revokes_every_stamp_with_its_decision_and_reaches_the_bundle(
    client, session, admin, keyring, batch
):
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.GENUINE
    before = served_bundle(client, session)
    assert not before.bit(Section.PRODUCT_WITHDRAWN, batch.product.id)
    assert offline(before, batch.tokens[0]).verdict is OfflineVerdict.GENUINE

    resp = withdraw(client, admin, batch.certificate.id)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["changed"] is True and body["certificate"]["state"] == "withdrawn"
    assert body["certificate"]["withdrawal"]["number"] == "3763/QĐ-UBND"

    for token in batch.tokens:
        status = verdict(session, keyring, token)
        assert status.verdict is Verdict.REVOKED and status.primary.cause is Cause.STARS_WITHDRAWN
        assert status.primary.decision.number == "3763/QĐ-UBND"
        assert status.primary.since == date(2026, 11, 18)
    entry = last_audit(session, "certificate.withdraw", batch.certificate.id)
    assert entry.decision["number"] == "3763/QĐ-UBND" and entry.reason.startswith("không duy trì")
    assert (entry.before["state"], entry.after["state"]) == ("active", "withdrawn")

    after = served_bundle(client, session)
    assert after.seq > before.seq
    assert after.bit(Section.PRODUCT_WITHDRAWN, batch.product.id)
    result = offline(after, batch.tokens[1])
    assert (result.verdict, result.cause) == (OfflineVerdict.REVOKED, "stars_withdrawn")


def test_withdrawal_is_idempotent(client, session, admin, batch):
    assert withdraw(client, admin, batch.certificate.id).status_code == 200
    again = withdraw(client, admin, batch.certificate.id, decision=decision("9999/QĐ-UBND"))
    assert again.status_code == 200
    body = again.get_json()
    assert body["changed"] is False and body["certificate"]["withdrawal"]["number"] == "3763/QĐ-UBND"
    assert audit_count(session, "certificate.withdraw", batch.certificate.id) == 1


def test_withdrawal_stops_running_and_approved_requests(client, session, admin, keyring, batch):
    pending = make_request(
        session,
        producer=batch.producer,
        product=batch.product,
        certificate=batch.certificate,
        lot=batch.lot,
        quantity=5,
    )
    minting.issue_chunk(session, request_id=pending.id, keyring=keyring, chunk_size=2)
    body = withdraw(client, admin, batch.certificate.id).get_json()
    assert body["stopped_requests"] == [pending.id]
    session.refresh(pending)
    assert pending.state == "stopped" and "3763/QĐ-UBND" in pending.stop_reason
    again = minting.issue_chunk(session, request_id=pending.id, keyring=keyring)
    assert again.issued_now == 0
    count = session.scalars(select(Stamp).where(Stamp.request_id == pending.id)).all()
    assert len(count) == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"reason": "thiếu quyết định"},
        {"decision": {"number": "3763/QĐ-UBND", "decided_on": "2026-11-18"}, "reason": "thiếu cơ quan"},
        {"decision": decision(number="bad number"), "reason": "số quyết định sai"},
        {"decision": decision(decided_on="2099-01-01"), "reason": "ngày trong tương lai"},
        {"decision": decision(decided_on="2020-01-01"), "reason": "trước ngày công nhận"},
        {"decision": decision(), "reason": "x"},
        {"decision": decision(), "reason": "ok lý do", "extra": 1},
    ],
)
def test_bad_withdrawals_are_422_and_change_nothing(client, session, admin, batch, payload):
    resp = client.post(
        f"/api/v1/certificates/{batch.certificate.id}/withdrawal", json=payload, headers=admin.headers
    )
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    session.refresh(batch.certificate)
    assert batch.certificate.state == "active"
    assert audit_count(session, "certificate.withdraw") == 0


def test_withdrawal_needs_the_admin_role_and_a_current_certificate(client, session, admin, inspector, batch):
    producer = make_caller(session, Role.PRODUCER, batch.producer.id)
    for caller in (inspector, producer):
        assert withdraw(client, caller, batch.certificate.id).status_code == 403
    assert withdraw(client, admin, 999_999).status_code == 404
    assert (
        client.post(
            f"/api/v1/certificates/{batch.certificate.id}/withdrawal",
            data="{",
            content_type="application/json",
            headers=admin.headers,
        ).status_code
        == 400
    )
    assert reduce(client, admin, batch.certificate.id, 3).status_code == 200
    resp = withdraw(client, admin, batch.certificate.id)  # now superseded
    assert resp.status_code == 409
    session.refresh(batch.certificate)
    assert batch.certificate.state == "superseded"


# -- reduction ---------------------------------------------------------------------------------------


def test_reduction_below_three_revokes_and_is_idempotent(client, session, admin, keyring, batch):
    resp = reduce(client, admin, batch.certificate.id, 2)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    new_id = body["certificate"]["id"]
    assert body["changed"] and body["certificate"]["stars"] == 2 and body["previous"]["state"] == "superseded"
    assert body["certificate"]["valid_until"] == batch.certificate.valid_until.isoformat()
    assert body["certificate"]["supersedes_id"] == batch.certificate.id
    status = verdict(session, keyring, batch.tokens[0])
    assert status.verdict is Verdict.REVOKED and status.primary.cause is Cause.STARS_BELOW_THREE
    entry = last_audit(session, "certificate.reduce", new_id)
    assert entry.decision["number"] == "4100/QĐ-UBND" and entry.before == {"stars": 4}
    bundle = served_bundle(client, session)
    assert bundle.bit(Section.PRODUCT_BELOW_THREE, batch.product.id) and bundle.stars[batch.product.id] == 2
    assert offline(bundle, batch.tokens[0]).cause == "stars_below_three"

    again = reduce(client, admin, batch.certificate.id, 2)
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert again.get_json()["certificate"]["id"] == new_id
    assert audit_count(session, "certificate.reduce") == 1
    assert (
        reduce(client, admin, batch.certificate.id, 1).status_code == 409
    )  # another reduction: use the new one


def test_reduction_to_three_keeps_stamps_genuine_with_the_new_rating(client, session, admin, keyring, batch):
    assert reduce(client, admin, batch.certificate.id, 3).status_code == 200
    keyring.invalidate()
    from stamp_service.services.stamp_status import check_token

    check = check_token(session, keyring, batch.tokens[0])
    assert check.status.verdict is Verdict.GENUINE
    assert (check.certificate.stars, check.stars_at_issue) == (3, 4)
    bundle = served_bundle(client, session)
    assert bundle.stars[batch.product.id] == 3 and not bundle.bit(
        Section.PRODUCT_BELOW_THREE, batch.product.id
    )
    result = offline(bundle, batch.tokens[0])
    assert (result.verdict, result.stars) == (OfflineVerdict.GENUINE, 3)


@pytest.mark.parametrize(
    ("stars", "extra", "status"),
    [
        (4, {}, 422),  # not fewer stars
        (5, {}, 422),  # above the schema's range
        (0, {}, 422),
        (2, {"authority_level": "central"}, 422),  # the province decides below 3 stars in 2026
        (3, {"score": 80}, 422),  # score of 4 stars
    ],
)
def test_bad_reductions_change_nothing(client, session, admin, batch, stars, extra, status):
    resp = reduce(client, admin, batch.certificate.id, stars, **extra)
    assert resp.status_code == status, resp.get_json()
    session.refresh(batch.certificate)
    assert batch.certificate.state == "active"
    assert session.scalars(select(Certificate).where(Certificate.product_id == batch.product.id)).all() == [
        batch.certificate
    ]


def test_reduction_needs_the_admin_role(client, session, inspector, batch):
    assert reduce(client, inspector, batch.certificate.id, 2).status_code == 403


# -- re-certification --------------------------------------------------------------------------------


def recert_payload(**overrides):
    payload = {
        "stars": 4,
        "score": 75,
        "criteria_version": "148/QĐ-TTg",
        "authority_name": "UBND tỉnh Hà Tĩnh",
        "authority_level": "province",
        "decision_number": "4500/QĐ-UBND",
        "signed_on": "2026-11-20",
    }
    return payload | overrides


def test_recertification_after_withdrawal_restores_stamps_up_to_their_signed_expiry(
    client, session, admin, keyring, batch
):
    withdraw(client, admin, batch.certificate.id)
    url = f"/api/v1/products/{batch.product.id}/recertification"
    resp = client.post(url, json=recert_payload(), headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["changed"] and body["certificate"]["valid_until"] == "2029-11-20"
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.GENUINE
    # The old stamp's signed expiry (the old validity) stays a hard limit.
    late = batch.certificate.valid_until + timedelta(days=1)
    status = verdict(session, keyring, batch.tokens[0], today=late)
    assert status.verdict is Verdict.EXPIRED and status.primary.cause is Cause.STAMP_EXPIRED
    bundle = served_bundle(client, session)
    assert not bundle.bit(Section.PRODUCT_WITHDRAWN, batch.product.id)
    assert offline(bundle, batch.tokens[0]).verdict is OfflineVerdict.GENUINE
    assert offline(bundle, batch.tokens[0], today=late).cause == "stamp_expired"
    assert last_audit(session, "certificate.create", body["certificate"]["id"]) is not None

    again = client.post(url, json=recert_payload(), headers=admin.headers)
    assert again.status_code == 200 and again.get_json()["changed"] is False


def test_recertification_supersedes_an_active_certificate_and_raises_stars(
    client, session, admin, keyring, batch
):
    url = f"/api/v1/products/{batch.product.id}/recertification"
    resp = client.post(
        url, json=recert_payload(stars=5, score=92, authority_level="central"), headers=admin.headers
    )
    assert resp.status_code == 200, resp.get_json()
    session.refresh(batch.certificate)
    assert batch.certificate.state == "superseded"
    assert served_bundle(client, session).stars[batch.product.id] == 5
    for bad in (
        recert_payload(stars=2),
        recert_payload(signed_on="2024-01-01", decision_number="1/QĐ-UBND"),
        recert_payload(decision_number="oops"),
    ):
        assert client.post(url, json=bad, headers=admin.headers).status_code == 422
    assert (
        client.post(
            "/api/v1/products/999999/recertification", json=recert_payload(), headers=admin.headers
        ).status_code
        == 404
    )
    inspector = make_caller(session, Role.INSPECTOR)
    assert (
        client.post(
            url, json=recert_payload(decision_number="4600/QĐ-UBND"), headers=inspector.headers
        ).status_code
        == 403
    )


# -- expiry ------------------------------------------------------------------------------------------


def test_expiring_certificates_in_the_next_30_days(client, session, admin, inspector):
    today = local_today()
    producer = make_producer(session)
    soon = make_product(session, producer.id)
    later = make_product(session, producer.id)
    make_certificate(
        session, soon.id, signed_on="2025-09-15", valid_until=(today + timedelta(days=12)).isoformat()
    )
    make_certificate(session, later.id, signed_on="2025-09-15")
    body = client.get("/api/v1/certificates/expiring", headers=inspector.headers).get_json()
    ids = [i["product_id"] for i in body["items"]]
    assert soon.id in ids and later.id not in ids
    item = next(i for i in body["items"] if i["product_id"] == soon.id)
    assert item["days_left"] == 12 and item["province_code"] == producer.province_code
    short = client.get("/api/v1/certificates/expiring?days=5", headers=admin.headers).get_json()
    assert soon.id not in [i["product_id"] for i in short["items"]]
    other = client.get("/api/v1/certificates/expiring?province=01", headers=admin.headers).get_json()
    assert soon.id not in [i["product_id"] for i in other["items"]]
    producer_caller = make_caller(session, Role.PRODUCER, producer.id)
    assert client.get("/api/v1/certificates/expiring", headers=producer_caller.headers).status_code == 403
    for bad in ("days=-1", "days=x", "province=abc", "foo=1"):
        assert client.get(f"/api/v1/certificates/expiring?{bad}", headers=admin.headers).status_code == 422


# -- lot recall --------------------------------------------------------------------------------------


def recall(client, caller, lot_id, path="recall", **body):
    payload = {"reason": "vi sinh vượt ngưỡng", "decision": decision("12/QĐ-CCATTP", "2026-11-20")} | body
    return client.post(f"/api/v1/lots/{lot_id}/{path}", json=payload, headers=caller.headers)


def test_recall_and_lift_change_the_lots_stamps_only(client, session, admin, keyring, batch):
    other_lot = make_lot(session, batch.product.id, quantity=10)
    other = make_request(
        session,
        producer=batch.producer,
        product=batch.product,
        certificate=batch.certificate,
        lot=other_lot,
        quantity=1,
    )
    minting.issue_all(session, request_id=other.id, keyring=keyring)
    other_token = minting.token_for(session.scalars(select(Stamp).where(Stamp.request_id == other.id)).one())

    resp = recall(client, admin, batch.lot.id)
    assert resp.status_code == 200 and resp.get_json()["changed"] is True
    assert resp.get_json()["lot"]["recall"]["number"] == "12/QĐ-CCATTP"
    status = verdict(session, keyring, batch.tokens[0])
    assert status.verdict is Verdict.REVOKED and status.primary.cause is Cause.LOT_RECALLED
    assert verdict(session, keyring, other_token).verdict is Verdict.GENUINE
    assert last_audit(session, "lot.recall", batch.lot.id).decision["number"] == "12/QĐ-CCATTP"
    bundle = served_bundle(client, session)
    assert bundle.bit(Section.LOT_RECALLED, batch.lot.id) and not bundle.bit(
        Section.LOT_RECALLED, other_lot.id
    )
    assert offline(bundle, batch.tokens[0]).cause == "lot_recalled"
    assert offline(bundle, other_token).verdict is OfflineVerdict.GENUINE

    assert recall(client, admin, batch.lot.id).get_json()["changed"] is False
    assert audit_count(session, "lot.recall", batch.lot.id) == 1

    lifted = recall(client, admin, batch.lot.id, "recall/lift", reason="kết quả kiểm nghiệm lại đạt")
    assert lifted.status_code == 200 and lifted.get_json()["changed"] is True
    assert lifted.get_json()["lot"]["recall"] is None
    assert session.scalar(select(Lot.id).where(Lot.id == batch.lot.id, Lot.recall.is_(None))) == batch.lot.id
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.GENUINE
    entry = last_audit(session, "lot.recall_lift", batch.lot.id)
    assert (
        entry.before["recall"]["number"] == "12/QĐ-CCATTP" and entry.reason == "kết quả kiểm nghiệm lại đạt"
    )
    assert not served_bundle(client, session).bit(Section.LOT_RECALLED, batch.lot.id)
    again = recall(client, admin, batch.lot.id, "recall/lift", reason="lần nữa")
    assert again.get_json()["changed"] is False


def test_recall_without_a_decision_stops_the_lots_issuance(client, session, admin, keyring, batch):
    pending = make_request(
        session,
        producer=batch.producer,
        product=batch.product,
        certificate=batch.certificate,
        lot=batch.lot,
        quantity=4,
    )
    resp = client.post(
        f"/api/v1/lots/{batch.lot.id}/recall", json={"reason": "nghi nhiễm khuẩn"}, headers=admin.headers
    )
    assert resp.status_code == 200
    assert resp.get_json()["stopped_requests"] == [pending.id]
    assert resp.get_json()["lot"]["recall"]["decided_on"] == local_today().isoformat()


def test_bad_recalls_and_wrong_roles(client, session, admin, inspector, batch):
    producer = make_caller(session, Role.PRODUCER, batch.producer.id)
    assert recall(client, producer, batch.lot.id).status_code == 403
    assert recall(client, inspector, batch.lot.id).status_code == 403
    assert recall(client, admin, 999_999).status_code == 404
    for body in (
        {"reason": ""},
        {"decision": decision()},
        {"reason": "ok ok", "decision": {"number": "1/QĐ"}},
    ):
        resp = client.post(f"/api/v1/lots/{batch.lot.id}/recall", json=body, headers=admin.headers)
        assert resp.status_code == 422
    session.refresh(batch.lot)
    assert batch.lot.recall is None and audit_count(session, "lot.recall") == 0
