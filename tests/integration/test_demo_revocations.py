"""The revocation demo: a withdrawn product and a recalled lot with issued, revoked stamps; idempotent."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from stamp_service import demo, demo_revocations
from stamp_service.domain.status import Cause, Verdict
from stamp_service.services.audit import verify_chain
from stamp_service.storage.models.stamps import Stamp
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
