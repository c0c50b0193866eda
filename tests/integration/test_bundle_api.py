"""Serving the status bundle: caching headers, rebuilt only when the status moved, a sequence that
never goes backwards (restarts, workers, reissues), and a revocation seen by a second app instance."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from stamp_service import create_app
from stamp_service.crypto.keyring import for_runtime
from stamp_service.domain.bundle import OfflineVerdict, Section, read_header
from stamp_service.domain.status import Cause, Verdict
from stamp_service.errors import NotFound
from stamp_service.services import bundle as svc
from stamp_service.services.status_events import status_changed
from stamp_service.storage.models.status_bundles import StatusBundleRecord
from tests.revocation_support import decision, offline, served_bundle, verdict
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=2)


def seq_of(client) -> int:
    return read_header(client.get("/status/bundle.bin").data).seq


def test_headers_etag_and_metadata(client, session, batch):
    resp = client.get("/status/bundle.bin")
    assert resp.status_code == 200 and resp.mimetype == "application/octet-stream"
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    etag = resp.headers["ETag"]
    assert client.get("/status/bundle.bin", headers={"If-None-Match": etag}).status_code == 304
    meta = client.get("/status/bundle.json").get_json()
    assert meta["sha256"] == hashlib.sha256(resp.data).hexdigest() and meta["size"] == len(resp.data)
    assert meta["seq"] == read_header(resp.data).seq == int(resp.headers["X-Bundle-Seq"])
    assert meta["counts"]["products"] >= batch.product.id + 1 and meta["url"] == "/status/bundle.bin"
    issued = datetime.fromisoformat(meta["issued_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(meta["valid_until"].replace("Z", "+00:00")) == issued + svc.VALIDITY
    assert meta["counts"]["named_products"] >= 1 and meta["counts"]["lot_codes"] >= 1
    assert (
        client.get(
            "/status/bundle.json",
            headers={"If-None-Match": client.get("/status/bundle.json").headers["ETag"]},
        ).status_code
        == 304
    )


def test_rebuilt_only_when_the_status_generation_moves(client, session, admin, batch):
    first = seq_of(client)
    assert seq_of(client) == first  # many requests, one build
    assert session.scalar(select(StatusBundleRecord.seq).order_by(StatusBundleRecord.seq.desc())) == first
    client.post(f"/api/v1/lots/{batch.lot.id}/recall", json={"reason": "nghi nhiễm"}, headers=admin.headers)
    second = seq_of(client)
    assert second == first + 1
    assert seq_of(client) == second


def test_sequence_never_goes_backwards(app, session, keyring, batch):
    rt = app.extensions["ocop"]
    ring = for_runtime(rt)
    rows = []
    now = datetime.now(UTC)
    for _ in range(5):  # a reissue each hour, generation unchanged
        rows.append(svc.current(session, ring, rt.store, now=now))
        now += svc.REISSUE_AFTER + timedelta(seconds=1)
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert session.scalars(select(StatusBundleRecord.seq)).all() == seqs[-svc.KEEP :]  # old ones pruned
    # A restart: the in-process generation (or a flushed Redis) starts again at 0.
    if rt.store.redis is not None:
        rt.store.redis.flushdb()
    rt.store.memory.delete("status:generation")
    status_changed(session)
    after = svc.current(session, ring, rt.store, now=now)
    assert after.seq == seqs[-1] + 1 and after.issued_at >= rows[-1].issued_at
    # A clock set back never moves the issue time backwards either.
    status_changed(session)
    older = svc.current(session, ring, rt.store, now=now - timedelta(days=1))
    assert older.seq == after.seq + 1 and older.issued_at >= after.issued_at


def test_a_racing_builder_reuses_the_fresh_bundle(app, session, keyring, batch):
    rt = app.extensions["ocop"]
    ring = for_runtime(rt)
    one = svc.build(session, ring, generation=7)
    two = svc.build(session, ring, generation=7)  # what a worker that waited on the lock sees
    assert two.seq == one.seq
    forced = svc.build(session, ring, generation=7, force=True)
    assert forced.seq == one.seq + 1


def test_a_host_without_the_private_key_serves_the_stored_bundle(
    app, client, session, settings, keyring, batch
):
    first = seq_of(client)
    for pem in settings.keys_dir.glob("*.pem"):
        pem.unlink()
    rt = app.extensions["ocop"]
    rt.services.pop("keyring", None)
    status_changed(session)
    assert seq_of(client) == first  # stale but signed, and logged
    session.execute(StatusBundleRecord.__table__.delete())
    session.commit()  # a real host starts from committed state (the service rolls back on failure)
    rt.services.pop("status_bundle", None)
    with pytest.raises(NotFound):
        svc.current(session, for_runtime(rt), rt.store)
    assert client.get("/status/bundle.bin").status_code == 404


def test_a_second_app_instance_sees_the_revocation_at_once(
    app, client, session, settings, admin, keyring, batch
):
    """Two workers: the revocation is made on one, scanned and bundled on the other."""
    other = create_app(settings)
    other_rt = other.extensions["ocop"]
    other_rt.session_factory = app.extensions["ocop"].session_factory
    if other_rt.store.redis is None:  # the embedded default has no shared store: share the in-process one
        other_rt.store = app.extensions["ocop"].store
    other_client = other.test_client()
    before = served_bundle(other_client, session)
    assert offline(before, batch.tokens[0]).verdict is OfflineVerdict.GENUINE

    resp = client.post(
        f"/api/v1/certificates/{batch.certificate.id}/withdrawal",
        json={"decision": decision(), "reason": "vi phạm an toàn thực phẩm"},
        headers=admin.headers,
    )
    assert resp.status_code == 200

    other_ring = for_runtime(other_rt)
    status = verdict(session, other_ring, batch.tokens[0])
    assert status.verdict is Verdict.REVOKED and status.primary.cause is Cause.STARS_WITHDRAWN
    after = served_bundle(other_client, session)
    assert after.seq > before.seq and after.bit(Section.PRODUCT_WITHDRAWN, batch.product.id)
    assert offline(after, batch.tokens[0]).verdict is OfflineVerdict.REVOKED
    other_rt.engine.dispose()


def test_the_served_bundle_names_the_stamp_product_producer_and_lot(client, session, keyring, batch):
    """Issue 12: the scanner shows what the stamp names, offline, from the bundle's name tables."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from stamp_service.domain import bundle as fmt
    from stamp_service.storage.models.keys import SigningKey

    data = client.get("/status/bundle.bin").data
    keys = {k.kid: k.public_key for k in session.scalars(select(SigningKey))}
    bundle = fmt.decode(
        data, public_key_lookup=lambda kid: Ed25519PublicKey.from_public_bytes(keys[kid.hex()])
    )
    assert bundle.name_of(batch.product.id) == fmt.ProductName(batch.product.name, batch.producer.name)
    assert bundle.lot_code(batch.lot.id) == batch.lot.lot_code
    assert bundle.valid_until == bundle.issued_at + int(svc.VALIDITY.total_seconds())


def test_only_the_newest_lot_codes_within_the_budget_are_carried(session, keyring):
    first = make_issued_batch(session, keyring, n=1)
    second = make_issued_batch(session, keyring, n=1)
    budget = len(second.lot.lot_code.encode()) + 1
    assert svc.newest_lot_codes(session, budget) == {second.lot.id: second.lot.lot_code}
    assert first.lot.id in svc.newest_lot_codes(session)
