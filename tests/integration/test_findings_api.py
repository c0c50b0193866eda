"""Findings through the API: idempotent recording, listing by role, proposals (recorded, not executed)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from stamp_service.domain import serials
from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.findings import Finding, FindingProposal
from stamp_service.storage.models.stamps import StampVoid
from tests.factories import make_caller
from tests.stamp_factories import ensure_keyring, make_issued_batch

URL = "/api/v1/findings"


def finding_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "client_id": uuid.uuid4().hex,
        "serial": "028T-5CY4-TQKF-FX",
        "verdict": "not_genuine",
        "shop": "Tạp hoá Minh Anh, chợ Hà Tĩnh",
        "note": "Tem in mờ, giấy khác",
        "position": {"latitude": 18.3428, "longitude": 105.9057, "accuracy_m": 12.5},
        "observed_at": "2025-11-20T09:15:00+07:00",
    }
    payload.update(overrides)
    return payload


@pytest.fixture()
def admin(session):
    return make_caller(session, Role.ADMIN)


@pytest.fixture()
def inspector(session):
    return make_caller(session, Role.INSPECTOR)


@pytest.fixture()
def batch(session, tmp_path):
    return make_issued_batch(session, ensure_keyring(session, tmp_path / "keys"), n=2)


def test_inspector_records_a_finding_once_whatever_the_retries(client, inspector, session):
    payload = finding_payload()
    first = client.post(URL, json=payload, headers=inspector.headers)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["serial"] == "028T-5CY4-TQKF-FX"
    assert body["position"] == {"latitude": 18.3428, "longitude": 105.9057, "accuracy_m": 12.5}
    assert body["state"] == "open" and body["account_id"] == inspector.account_id
    for _ in range(2):  # the page retries after a lost answer
        again = client.post(URL, json=payload, headers=inspector.headers)
        assert again.status_code == 200
        assert again.get_json()["id"] == body["id"]
    assert session.query(Finding).filter_by(client_id=payload["client_id"]).count() == 1
    assert (
        session.query(AuditEntry).filter_by(action="finding.create", entity_id=str(body["id"])).count() == 1
    )


def test_a_reused_client_id_with_other_content_is_a_conflict(client, inspector):
    payload = finding_payload()
    assert client.post(URL, json=payload, headers=inspector.headers).status_code == 201
    other = client.post(URL, json={**payload, "note": "something else"}, headers=inspector.headers)
    assert other.status_code == 409
    assert other.get_json()["type"] == "/problems/conflict"


def test_the_same_client_id_from_two_inspectors_is_two_findings(client, inspector, session):
    payload = finding_payload()
    other = make_caller(session, Role.INSPECTOR)
    assert client.post(URL, json=payload, headers=inspector.headers).status_code == 201
    assert client.post(URL, json=payload, headers=other.headers).status_code == 201


def test_a_scanned_code_gives_the_serial_and_a_garbage_code_is_kept_as_text(client, inspector):
    from tests.unit.test_stamp_vectors import VECTORS  # the checked-in vector 1

    url = VECTORS["valid"][0]["url"]
    resp = client.post(URL, json=finding_payload(serial=None, code=url), headers=inspector.headers)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["serial"] == "028T-5CY4-TQKF-FX"
    resp = client.post(
        URL, json=finding_payload(serial=None, code="HTTPS://FAKE.EXAMPLE/X"), headers=inspector.headers
    )
    assert resp.status_code == 201
    assert resp.get_json()["serial"] is None and resp.get_json()["code"] == "HTTPS://FAKE.EXAMPLE/X"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"serial": "028T-5CY4-TQKF-FY"}, "serial"),  # wrong check character
        ({"serial": None}, "(body)"),  # neither serial nor code
        ({"verdict": "fake"}, "verdict"),
        ({"client_id": "short"}, "client_id"),
        ({"client_id": "../../etc/passwd"}, "client_id"),
        ({"shop": ""}, "shop"),
        ({"position": {"latitude": 91, "longitude": 0}}, "position.latitude"),
        ({"observed_at": "2025-11-20T09:15:00"}, "observed_at"),  # naive time
        ({"observed_at": "2999-01-01T00:00:00Z"}, "observed_at"),  # in the future
        ({"note": "a\x00b"}, "note"),
        ({"extra": 1}, "extra"),
        ({"possible_copy": "yes"}, "possible_copy"),
    ],
)
def test_bad_findings_are_422_and_store_nothing(client, inspector, session, overrides, field):
    before = session.query(Finding).count()
    resp = client.post(URL, json=finding_payload(**overrides), headers=inspector.headers)
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == "application/problem+json"
    problem = resp.get_json()
    assert problem["type"] == "/problems/validation-failed"
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert session.query(Finding).count() == before


def test_malformed_bodies_and_wrong_roles(client, inspector, session):
    producer = make_caller(session, Role.PRODUCER, producer_id=_producer_id(session))
    r = client.post(URL, data=b"{", headers={**inspector.headers, "Content-Type": "application/json"})
    assert (r.status_code, r.get_json()["type"]) == (400, "/problems/malformed-request")
    r = client.post(URL, json=finding_payload())
    assert r.status_code == 401
    r = client.post(URL, json=finding_payload(), headers=producer.headers)
    assert (r.status_code, r.get_json()["type"]) == (403, "/problems/forbidden")
    assert client.get(URL, headers=producer.headers).status_code == 403
    assert session.query(Finding).count() == 0


def _producer_id(session) -> int:
    from tests.factories import make_producer

    return make_producer(session).id


def test_inspectors_list_their_own_findings_and_admins_all(client, inspector, admin, session):
    other = make_caller(session, Role.INSPECTOR)
    client.post(URL, json=finding_payload(), headers=inspector.headers)
    client.post(URL, json=finding_payload(verdict="genuine"), headers=other.headers)
    client.post(URL, json=finding_payload(), headers=admin.headers)
    mine = client.get(URL, headers=inspector.headers).get_json()
    assert mine["total"] == 1 and mine["items"][0]["account_id"] == inspector.account_id
    peek = client.get(f"{URL}?account_id={other.account_id}", headers=inspector.headers).get_json()
    assert peek["total"] == 0  # an inspector's filter never widens the listing
    everything = client.get(URL, headers=admin.headers).get_json()
    assert everything["total"] == 3
    genuine = client.get(f"{URL}?verdict=genuine", headers=admin.headers).get_json()
    assert [i["account_id"] for i in genuine["items"]] == [other.account_id]
    bad = client.get(f"{URL}?verdict=nope&per_page=0", headers=admin.headers)
    assert bad.status_code == 422
    assert client.get(f"{URL}?unknown=1", headers=admin.headers).status_code == 422


def test_admin_proposes_a_void_from_a_finding_and_nothing_is_revoked(
    client, inspector, admin, session, batch
):
    stamp = batch.stamps[0]
    serial = serials.format_serial(serials.from_db(stamp.serial))
    finding = client.post(
        URL,
        json=finding_payload(serial=serial, verdict="suspicious", possible_copy=True),
        headers=inspector.headers,
    ).get_json()
    resp = client.post(
        f"{URL}/{finding['id']}/propose",
        json={"action": "void", "reason": "copied stamp"},
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.get_json()
    proposal = resp.get_json()
    assert (proposal["action"], proposal["state"], proposal["serial"]) == ("void", "pending", serial)
    assert (proposal["request_id"], proposal["seq"]) == (stamp.request_id, stamp.seq)
    assert session.query(StampVoid).count() == 0  # recorded only: the revocation action decides
    listed = client.get(URL, headers=admin.headers).get_json()["items"][0]
    assert listed["state"] == "proposed" and listed["proposal"]["id"] == proposal["id"]
    entry = session.query(AuditEntry).filter_by(action="finding.propose_void").one()
    assert entry.reason == "copied stamp" and entry.after["proposal_id"] == proposal["id"]
    again = client.post(
        f"{URL}/{finding['id']}/propose",
        json={"action": "withdrawal", "reason": "again"},
        headers=admin.headers,
    )
    assert again.status_code == 409
    assert session.query(FindingProposal).count() == 1


def test_a_withdrawal_proposal_names_the_current_certificate(client, inspector, admin, batch):
    serial = serials.format_serial(serials.from_db(batch.stamps[1].serial))
    finding = client.post(URL, json=finding_payload(serial=serial), headers=inspector.headers).get_json()
    resp = client.post(
        f"{URL}/{finding['id']}/propose",
        json={"action": "withdrawal", "reason": "fraud"},
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["certificate_id"] == batch.certificate.id
    assert resp.get_json()["product_id"] == batch.product.id


def test_proposal_errors(client, inspector, admin, session, batch):
    fake = client.post(URL, json=finding_payload(), headers=inspector.headers).get_json()  # not issued
    r = client.post(
        f"{URL}/{fake['id']}/propose", json={"action": "void", "reason": "copy"}, headers=admin.headers
    )
    assert (r.status_code, r.get_json()["type"]) == (422, "/problems/rule-violation")
    assert r.get_json()["rule"] == "finding-without-issued-stamp"
    r = client.post(
        f"{URL}/{fake['id']}/propose", json={"action": "void", "reason": "copy"}, headers=inspector.headers
    )
    assert (r.status_code, r.get_json()["type"]) == (403, "/problems/forbidden")
    r = client.post(
        f"{URL}/{fake['id']}/propose", json={"action": "burn", "reason": "copy"}, headers=admin.headers
    )
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "action"
    r = client.post(f"{URL}/{fake['id']}/propose", json={"action": "void"}, headers=admin.headers)
    assert r.status_code == 422
    for missing in (999_999, 2**40):
        r = client.post(
            f"{URL}/{missing}/propose", json={"action": "void", "reason": "copy"}, headers=admin.headers
        )
        assert r.status_code == 404
    assert session.query(FindingProposal).count() == 0
    assert session.get(Finding, fake["id"]).state == "open"
