"""One definition of a product's current certificate, and the "below three stars" status.

The product API, its filters, the certificate listing, verification, the revocation reports and
the status bundle must agree on which certificate is current (the newest not superseded, by
``(signed_on, id)``) and must never call a certificate reduced below 3 stars "valid".
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from stamp_service.domain.status import Cause, Verdict
from stamp_service.services import bundle, minting
from stamp_service.services.certificates import current_certificate, current_certificates
from stamp_service.storage.models.registry import Certificate
from tests.factories import certificate_payload
from tests.revocation_support import decision, verdict
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=2)


def withdraw(client, admin, cert_id, decided_on="2026-11-18"):
    resp = client.post(
        f"/api/v1/certificates/{cert_id}/withdrawal",
        json={"decision": decision(decided_on=decided_on), "reason": "vi phạm cam kết chất lượng"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def product_ids(client, admin, qs):
    resp = client.get(f"/api/v1/products?per_page=200&{qs}", headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()
    return {p["id"] for p in resp.get_json()["items"]}


def certificate_count(session, product_id):
    return session.scalar(select(func.count()).where(Certificate.product_id == product_id))


def test_a_decision_signed_before_the_current_certificate_is_refused(client, session, admin, batch):
    """The reviewer's reproducer: withdraw, then record an older decision with no supersedes_id."""
    withdraw(client, admin, batch.certificate.id)
    count = certificate_count(session, batch.product.id)
    older = certificate_payload(batch.product.id, signed_on="2024-03-01")
    resp = client.post("/api/v1/certificates", json=older, headers=admin.headers)
    assert resp.status_code == 422, resp.get_json()
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.get_json()["errors"][0]["field"] == "signed_on"
    assert certificate_count(session, batch.product.id) == count
    # The same decision signed on or after the withdrawn one is the new current certificate.
    newer = certificate_payload(batch.product.id, signed_on=batch.certificate.signed_on.isoformat())
    resp = client.post("/api/v1/certificates", json=newer, headers=admin.headers)
    assert resp.status_code == 201, resp.get_json()
    got = client.get(f"/api/v1/products/{batch.product.id}", headers=admin.headers).get_json()
    assert got["current_certificate"]["id"] == resp.get_json()["id"]


def test_every_reader_agrees_on_the_current_certificate(client, session, admin, keyring, batch):
    """An older-signed certificate with a higher id (as the reproducer made) is not the current one."""
    withdraw(client, admin, batch.certificate.id)
    older = Certificate(
        product_id=batch.product.id,
        stars=5,
        criteria_version="148/QĐ-TTg",
        authority_name="Bộ Nông nghiệp và Môi trường",
        authority_level="central",
        decision_number="77/QĐ-BNN",
        signed_on=date(2024, 3, 1),
        valid_until=date(2027, 3, 1),
        state="active",
    )
    session.add(older)
    session.commit()
    assert older.id > batch.certificate.id
    pid = batch.product.id

    assert current_certificate(session, pid).id == batch.certificate.id
    assert current_certificates(session, [pid])[pid].id == batch.certificate.id
    status = verdict(session, keyring, batch.tokens[0])
    assert status.verdict is Verdict.REVOKED and status.primary.cause is Cause.STARS_WITHDRAWN
    product = client.get(f"/api/v1/products/{pid}", headers=admin.headers).get_json()
    assert (product["current_certificate"]["id"], product["current_certificate"]["status"]) == (
        batch.certificate.id,
        "withdrawn",
    )
    assert pid in product_ids(client, admin, "certificate_state=withdrawn")
    assert pid not in product_ids(client, admin, "certificate_state=valid")
    assert pid not in product_ids(client, admin, "stars=5")
    revoked = client.get("/api/v1/reports/revoked-products?per_page=200", headers=admin.headers).get_json()
    assert [i["certificate_id"] for i in revoked["items"] if i["product_id"] == pid] == [batch.certificate.id]
    content = bundle.gather(session)
    assert content.products[pid].withdrawn and content.products[pid].stars == batch.certificate.stars


def test_a_certificate_reduced_below_three_stars_is_not_valid(client, session, admin, keyring, batch):
    resp = client.post(
        f"/api/v1/certificates/{batch.certificate.id}/reduction",
        json={"stars": 2, "decision": decision("4100/QĐ-UBND"), "reason": "bao bì không đạt"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    reduced = resp.get_json()["certificate"]
    assert reduced["status"] == "below_three"
    assert verdict(session, keyring, batch.tokens[0]).primary.cause is Cause.STARS_BELOW_THREE
    pid = batch.product.id
    got = client.get(f"/api/v1/certificates/{reduced['id']}", headers=admin.headers).get_json()
    assert got["status"] == "below_three"

    def cert_ids(qs):
        resp = client.get(f"/api/v1/certificates?product_id={pid}&{qs}", headers=admin.headers)
        assert resp.status_code == 200, resp.get_json()
        return {c["id"] for c in resp.get_json()["items"]}

    assert cert_ids("state=valid") == set()
    assert cert_ids("state=expired") == set()
    assert cert_ids("state=below_three") == {reduced["id"]}
    assert cert_ids("state=superseded") == {batch.certificate.id}
    product = client.get(f"/api/v1/products/{pid}", headers=admin.headers).get_json()
    assert product["current_certificate"]["status"] == "below_three"
    assert pid not in product_ids(client, admin, "certificate_state=valid")
    assert pid in product_ids(client, admin, "certificate_state=below_three")
    assert pid in product_ids(client, admin, "stars=2&certificate_state=below_three")
    assert client.get("/api/v1/products?certificate_state=reduced", headers=admin.headers).status_code == 422


def test_the_minting_module_re_exports_the_one_definition():
    assert minting.current_certificate is current_certificate


def test_a_superseding_certificate_changes_the_page_of_a_worker_that_cached_the_old_one(
    app, session, keyring, batch
):
    """create_certificate must move the status generation: a worker that already holds the lot's
    status facts in its per-process cache would otherwise keep showing the superseded rating."""
    from stamp_service.domain.access import SYSTEM
    from stamp_service.schemas.certificates import CertificateIn
    from stamp_service.services.certificates import create_certificate
    from stamp_service.services.status_events import current_generation

    client = app.test_client()
    token = batch.tokens[0]
    first = client.get(f"/api/v1/verify/{token}").get_json()
    assert first["verdict"] == "genuine"
    store = app.extensions["ocop"].store
    before = current_generation(store)
    body = certificate_payload(
        batch.product.id,
        stars=3,
        score=60,
        signed_on="2026-01-15",
        supersedes_id=batch.certificate.id,
    )
    create_certificate(session, SYSTEM, CertificateIn.model_validate_json(json.dumps(body)))
    assert current_generation(store) == before + 1
    again = client.get(f"/api/v1/verify/{token}").get_json()
    assert first["facts"]["certificate"]["stars"] == 4
    assert again["facts"]["certificate"]["stars"] == 3
    assert again["facts"]["certificate"]["stars_changed_on"] == "2026-01-15"
