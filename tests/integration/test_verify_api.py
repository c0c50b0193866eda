"""JSON verification API (public) and the consumer-report admin API."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from stamp_service.domain import serials
from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.scans import ConsumerReport
from tests import verify_support as vs
from tests.factories import make_caller
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=2)


def test_genuine_with_facts_and_openapi_entry(client, batch):
    r = client.get(f"/api/v1/verify/{batch.tokens[0]}?lang=en")
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    body = r.json
    assert body["verdict"] == "genuine" and body["lang"] == "en" and body["message"].startswith("Genuine")
    assert body["stamp"]["serial"] == serials.format_serial(serials.from_db(batch.stamps[0].serial))
    assert body["facts"]["certificate"]["decision_number"] == batch.certificate.decision_number
    assert body["scans"]["count"] == 0  # API calls are not consumer scans
    doc = client.get("/api/openapi.json").json
    for path in (
        "/api/v1/verify/{token}",
        "/api/v1/verify/serial/{serial}",
        "/api/v1/reports",
        "/api/v1/reports/{report_id}/close",
    ):
        assert path in doc["paths"], path
    assert "security" not in doc["paths"]["/api/v1/verify/{token}"]["get"]


def test_one_trailing_slash_after_the_code_is_the_same_code(client, batch):
    """docs/stamp-format.md: one optional trailing slash, as on the page route."""
    plain = client.get(f"/api/v1/verify/{batch.tokens[0]}").json
    slashed = client.get(f"/api/v1/verify/{batch.tokens[0]}/")
    assert slashed.status_code == 200 and slashed.json["verdict"] == "genuine"
    assert slashed.json["stamp"] == plain["stamp"]


def test_a_tab_or_a_look_alike_inside_a_typed_serial_is_a_typo(client, batch):
    text = serials.format_serial(serials.from_db(batch.stamps[0].serial))
    assert client.get(f"/api/v1/verify/serial/{text}").json["verdict"] == "genuine"
    for typed in (text.replace("-", "\t", 1), text + "\u00a0"):
        r = client.get(f"/api/v1/verify/serial/{quote(typed)}")  # as a client sends it: %09
        assert r.status_code == 422 and r.json["type"] == "/problems/serial-typo", repr(typed)


@pytest.mark.parametrize("cause", vs.REVOKE_CAUSES)
def test_revoked_causes(client, session, batch, cause):
    vs.revoke(session, batch, cause)
    body = client.get(f"/api/v1/verify/{batch.tokens[0]}").json
    assert body["verdict"] == "revoked" and body["lang"] == "vi"
    expected = {
        "withdrawn": "stars_withdrawn",
        "recalled": "lot_recalled",
        "voided": "stamp_voided",
        "below_three": "stars_below_three",
    }[cause]
    assert body["findings"][0]["cause"] == expected


def test_expired_and_not_genuine(client, session, keyring, batch):
    vs.expire(session, batch)
    assert client.get(f"/api/v1/verify/{batch.tokens[0]}").json["verdict"] == "expired"
    bodies = []
    for token in vs.not_genuine_tokens(session, keyring, batch.tokens[1]).values():
        r = client.get(f"/api/v1/verify/{token}?lang=en")
        assert r.status_code == 200
        bodies.append(r.json)
    assert all(b == bodies[0] for b in bodies) and bodies[0]["verdict"] == "not_genuine"
    assert [f["cause"] for f in bodies[0]["findings"]] == ["bad_code"] and bodies[0]["facts"] is None


def test_by_serial_and_typo_problem(client, batch):
    good = serials.format_serial(serials.from_db(batch.stamps[0].serial))
    assert client.get(f"/api/v1/verify/serial/{good}").json["verdict"] == "genuine"
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    r = client.get(f"/api/v1/verify/serial/{typo}")
    assert r.status_code == 422 and r.json["type"] == "/problems/serial-typo"
    unknown = serials.format_serial(serials.generate())
    assert client.get(f"/api/v1/verify/serial/{unknown}").json["verdict"] == "not_genuine"
    r = client.get(f"/api/v1/verify/serial/{good}?lang=fr")
    assert r.status_code == 422 and r.json["type"] == "/problems/validation-failed"


def test_api_rate_limit_is_a_problem_with_retry_after(app, client, settings, session_factory, batch):
    from stamp_service import create_app

    small = create_app(vs.verify_settings(settings, rate_api_per_minute=2))
    small.extensions["ocop"].session_factory = session_factory
    c = small.test_client()
    codes = [c.get(f"/api/v1/verify/{batch.tokens[0]}").status_code for _ in range(3)]
    r = c.get(f"/api/v1/verify/{batch.tokens[0]}")
    assert codes == [200, 200, 429] and r.json["type"] == "/problems/rate-limited"
    assert int(r.headers["Retry-After"]) >= 1
    small.extensions["ocop"].engine.dispose()


def _report(session, **kw):
    report = ConsumerReport(problem="fake_stamp", client_hash=b"\x01" * 16, state="open", **kw)
    session.add(report)
    session.commit()
    return report


def test_reports_list_and_close_with_roles(client, session):
    admin, inspector = make_caller(session, Role.ADMIN), make_caller(session, Role.INSPECTOR)
    producer = make_caller(session, Role.PRODUCER, vs_producer(session))
    report = _report(session, shop_name="Tạp hóa Minh")
    assert client.get("/api/v1/reports").status_code == 401
    assert client.get("/api/v1/reports", headers=producer.headers).status_code == 403
    listing = client.get("/api/v1/reports?state=open", headers=inspector.headers)
    assert listing.status_code == 200 and listing.json["items"][0]["shop_name"] == "Tạp hóa Minh"
    url = f"/api/v1/reports/{report.id}/close"
    assert client.post(url, json={"note": "đã kiểm tra"}, headers=inspector.headers).status_code == 403
    r = client.post(url, json={"note": "đã kiểm tra, xử phạt cửa hàng"}, headers=admin.headers)
    assert r.status_code == 200 and r.json["state"] == "closed" and r.json["closed_by"] == admin.account_id
    assert client.post(url, json={"note": "again"}, headers=admin.headers).status_code == 409
    entry = session.query(AuditEntry).filter_by(action="report.close").one()
    assert entry.entity_id == str(report.id)
    assert client.get("/api/v1/reports?state=closed", headers=admin.headers).json["total"] == 1


def test_reports_bad_input_changes_nothing(client, session):
    admin = make_caller(session, Role.ADMIN)
    report = _report(session)
    url = f"/api/v1/reports/{report.id}/close"
    for body, code in (({"note": ""}, 422), ({"note": "x", "extra": 1}, 422), ({"note": 5}, 422)):
        assert client.post(url, json=body, headers=admin.headers).status_code == code
    assert (
        client.post(url, data="{", content_type="application/json", headers=admin.headers).status_code == 400
    )
    assert client.post(url, data="note=x", headers=admin.headers).status_code == 415
    assert (
        client.post("/api/v1/reports/999999/close", json={"note": "x"}, headers=admin.headers).status_code
        == 404
    )
    assert client.get("/api/v1/reports?state=weird", headers=admin.headers).status_code == 422
    session.expire_all()
    assert session.get(ConsumerReport, report.id).state == "open"


def vs_producer(session) -> int:
    from tests.factories import make_producer

    return make_producer(session).id
