"""The office accepts (carries out) or rejects an inspector's finding's proposal."""

from __future__ import annotations

from typing import Any

import pytest

from stamp_service.domain import serials
from stamp_service.domain.status import Verdict
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.findings import FindingProposal
from stamp_service.storage.models.registry import Certificate, Lot
from stamp_service.storage.models.stamps import StampVoid
from tests.integration.test_findings_api import URL, finding_payload
from tests.revocation_support import decision, verdict
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=3)


def _proposed(client, inspector, admin, batch, action: str, seq: int = 0) -> dict[str, Any]:
    serial = serials.format_serial(serials.from_db(batch.stamps[seq].serial))
    finding = client.post(
        URL, json=finding_payload(serial=serial, verdict="suspicious"), headers=inspector.headers
    ).get_json()
    resp = client.post(
        f"{URL}/{finding['id']}/propose",
        json={"action": action, "reason": "tem sao chép tại chợ"},
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.get_json()
    return finding


def test_accepting_a_void_proposal_voids_the_stamp_audited_with_the_finding(
    client, session, inspector, admin, batch, keyring
):
    finding = _proposed(client, inspector, admin, batch, "void")
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.GENUINE
    resp = client.post(
        f"{URL}/{finding['id']}/proposal/accept",
        json={"reason": "xác minh: tem giả mạo số sê-ri"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    proposal = resp.get_json()
    assert proposal["state"] == "accepted" and proposal["decided_by"] == admin.account_id
    void = session.query(StampVoid).one()
    assert (void.request_id, void.seq_from, void.seq_to) == (batch.request.id, 1, 1)
    assert proposal["outcome"] == {"changed": True, "void_ids": [void.id]}
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.REVOKED
    assert verdict(session, keyring, batch.tokens[1]).verdict is Verdict.GENUINE
    entry = session.query(AuditEntry).filter_by(action="finding.accept_proposal").one()
    assert entry.entity_id == str(finding["id"]) and entry.after["outcome"]["void_ids"] == [void.id]
    # The void's own entry is in the same chain, just before the acceptance.
    void_entry = session.query(AuditEntry).filter_by(action="stamps.void").one()
    assert void_entry.id == entry.id - 1
    again = client.post(
        f"{URL}/{finding['id']}/proposal/accept", json={"reason": "lần nữa"}, headers=admin.headers
    )
    assert again.status_code == 409
    assert (
        client.post(
            f"{URL}/{finding['id']}/proposal/reject", json={"reason": "lần nữa"}, headers=admin.headers
        ).status_code
        == 409
    )


def test_accepting_a_recall_proposal_recalls_the_stamps_lot(
    client, session, inspector, admin, batch, keyring
):
    finding = _proposed(client, inspector, admin, batch, "recall")
    resp = client.post(
        f"{URL}/{finding['id']}/proposal/accept",
        json={"reason": "hàng không an toàn", "decision": decision()},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    session.expire_all()
    assert session.get(Lot, batch.lot.id).recall["number"] == decision()["number"]
    assert resp.get_json()["outcome"]["lot_id"] == batch.lot.id
    assert all(verdict(session, keyring, t).verdict is Verdict.REVOKED for t in batch.tokens)


def test_a_withdrawal_needs_its_decision_and_then_withdraws(client, session, inspector, admin, batch):
    finding = _proposed(client, inspector, admin, batch, "withdrawal")
    url = f"{URL}/{finding['id']}/proposal/accept"
    missing = client.post(url, json={"reason": "gian lận"}, headers=admin.headers)
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "decision"
    session.expire_all()
    assert session.get(Certificate, batch.certificate.id).state == "active"
    assert session.query(FindingProposal).one().state == "pending"
    resp = client.post(url, json={"reason": "gian lận", "decision": decision()}, headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()
    session.expire_all()
    assert session.get(Certificate, batch.certificate.id).state == "withdrawn"


def test_a_failed_action_leaves_the_proposal_pending(client, session, inspector, admin, batch):
    """One transaction: a decision dated in the future fails the withdrawal, and nothing changes."""
    finding = _proposed(client, inspector, admin, batch, "withdrawal")
    resp = client.post(
        f"{URL}/{finding['id']}/proposal/accept",
        json={"reason": "gian lận", "decision": decision(decided_on="2099-01-01")},
        headers=admin.headers,
    )
    assert resp.status_code == 422
    session.expire_all()
    assert session.query(FindingProposal).one().state == "pending"
    assert session.get(Certificate, batch.certificate.id).state == "active"
    assert session.query(AuditEntry).filter_by(action="finding.accept_proposal").count() == 0


def test_rejecting_keeps_the_reason_and_revokes_nothing(client, session, inspector, admin, batch, keyring):
    finding = _proposed(client, inspector, admin, batch, "void")
    url = f"{URL}/{finding['id']}/proposal/reject"
    assert client.post(url, json={"reason": "ok"}, headers=admin.headers).status_code == 422  # too short
    assert client.post(url, json={"reason": "tem thật"}, headers=inspector.headers).status_code == 403
    resp = client.post(url, json={"reason": "tem thật, in mờ"}, headers=admin.headers)
    assert resp.status_code == 200
    assert (resp.get_json()["state"], resp.get_json()["decision_reason"]) == ("rejected", "tem thật, in mờ")
    assert session.query(StampVoid).count() == 0
    assert verdict(session, keyring, batch.tokens[0]).verdict is Verdict.GENUINE
    listed = client.get(URL, headers=admin.headers).get_json()["items"][0]
    assert listed["proposal"]["state"] == "rejected"


def test_no_proposal_yet_is_404(client, inspector, admin):
    finding = client.post(URL, json=finding_payload(), headers=inspector.headers).get_json()
    resp = client.post(
        f"{URL}/{finding['id']}/proposal/accept", json={"reason": "xem"}, headers=admin.headers
    )
    assert resp.status_code == 404
