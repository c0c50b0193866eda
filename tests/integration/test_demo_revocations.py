"""The revocation demo: a withdrawn product and a recalled lot with issued, revoked stamps; idempotent."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from stamp_service import demo, demo_revocations
from stamp_service.domain.status import Cause, Verdict
from stamp_service.services.audit import verify_chain
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Lot
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.revocation_support import verdict
from tests.stamp_factories import ensure_keyring


def test_prepare_twice_prints_revoked_stamp_urls_once_created(app, session, settings):
    rt = app.extensions["ocop"]
    ring = ensure_keyring(session, settings.keys_dir)
    rt.services["keyring"] = ring
    runtime = SimpleNamespace(
        session_factory=rt.session_factory, settings=settings, services=rt.services, store=rt.store
    )
    list(demo.prepare(runtime))  # type: ignore[arg-type]
    first = list(demo_revocations.prepare(runtime))  # type: ignore[arg-type]
    urls = [line.split()[-1] for line in first if "HTTPS://" in line]
    assert len(urls) == 2 and all(u.startswith("HTTPS://TEM.OCOP.LOCAL/V/") for u in urls)
    withdrawn, recalled = (verdict(session, ring, u) for u in urls)
    assert withdrawn.verdict is Verdict.REVOKED and withdrawn.primary.cause is Cause.STARS_WITHDRAWN
    assert recalled.verdict is Verdict.REVOKED and recalled.primary.cause is Cause.LOT_RECALLED
    count = session.scalar(select(func.count()).select_from(Stamp))
    second = list(demo_revocations.prepare(runtime))  # type: ignore[arg-type]
    assert [line.split()[-1] for line in second if "HTTPS://" in line] == urls
    assert session.scalar(select(func.count()).select_from(Stamp)) == count
    assert verify_chain(session).ok


def test_demo_stamps_go_through_the_audited_request_and_approval(app, session, settings):
    rt = app.extensions["ocop"]
    ring = ensure_keyring(session, settings.keys_dir)
    rt.services["keyring"] = ring
    runtime = SimpleNamespace(
        session_factory=rt.session_factory, settings=settings, services=rt.services, store=rt.store
    )
    list(demo.prepare(runtime))  # type: ignore[arg-type]
    list(demo_revocations.prepare(runtime))  # type: ignore[arg-type]
    lots = [
        session.scalar(select(Lot).where(Lot.lot_code == code))
        for code in ("SD-DEMO-01", demo_revocations.RECALLED_LOT)
    ]
    requests = list(
        session.scalars(select(StampRequest).where(StampRequest.lot_id.in_([lot.id for lot in lots])))
    )
    assert len(requests) == 2
    for request in requests:
        assert (request.state, request.issued_count) == ("issued", demo_revocations.STAMPS)
        actions = set(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.entity == "stamp_request", AuditEntry.entity_id == str(request.id)
                )
            )
        )
        assert {"stamp_request.create", "stamp_request.approve", "stamps.issue"} <= actions
        assert request.idempotency_key == f"demo-revocations-{request.lot_id}"
