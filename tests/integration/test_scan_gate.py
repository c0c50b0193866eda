"""The page's one-trip scan path (services.scan_gate, fast_redis) and its caches: counting, rate limit,
freshness across app instances, Redis outages, signatures remembered per process, the scan queue format."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime

import pytest

from stamp_service import create_app
from stamp_service.cache import Store
from stamp_service.domain import serials
from stamp_service.services.scans import ScanEvent, ScanLog, scan_log_for
from stamp_service.storage.models.scans import Scan
from tests import verify_support as vs
from tests.conftest import REDIS_URL
from tests.stamp_factories import ensure_keyring, make_issued_batch

requires_redis = pytest.mark.skipif(not REDIS_URL, reason="needs the real Redis (TEST_REDIS_URL)")


@pytest.fixture()
def settings(settings):
    return vs.verify_settings(settings, clone_max_scans=50)


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=2)


def verdict(client, path, addr="10.0.0.1") -> str:
    r = client.get(path, environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == 200, r.status_code
    found = re.search(r'<section class="v (\w+)" role="status"', r.get_data(as_text=True))
    assert found
    return found.group(1)


def scans_text(client, path, addr) -> str:
    html = client.get(path, environ_base={"REMOTE_ADDR": addr}).get_data(as_text=True)
    found = re.search(r"Đã được kiểm tra (\d+) lần", html)
    assert found, html[:300]
    return found.group(1)


def test_repeat_scans_are_counted_and_logged_from_the_cached_path(app, client, session, batch):
    path = vs.path_of(batch.urls[0])
    assert scans_text(client, path, "10.1.0.1") == "1"  # first scan: computed, then cached
    assert scans_text(client, path, "10.1.0.2") == "2"  # cache hit: counted in the same trip
    assert scans_text(client, path, "10.1.0.2") == "2"  # same client again: logged, not counted
    assert scans_text(client, path, "10.1.0.3") == "3"
    rt = app.extensions["ocop"]
    assert scan_log_for(rt).flush(rt.session_factory) == 4
    rows = session.query(Scan).filter_by(serial=batch.stamps[0].serial).all()
    assert len(rows) == 4 and sum(r.counted for r in rows) == 3


def test_a_refused_request_is_not_counted(app, settings, session_factory, session, batch):
    limited = create_app(vs.verify_settings(settings, rate_page_per_minute=2))
    limited.extensions["ocop"].session_factory = session_factory
    c = limited.test_client()
    path = vs.path_of(batch.urls[0])
    codes = [c.get(path, environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert c.get(path, environ_base={"REMOTE_ADDR": "10.2.0.2"}).status_code == 200  # per client
    rt = limited.extensions["ocop"]
    assert scan_log_for(rt).flush(rt.session_factory) == 3  # the 429 left no scan
    rt.engine.dispose()


@pytest.mark.parametrize("cause", [*vs.REVOKE_CAUSES, "compromised"])
def test_revocation_after_a_cached_genuine_scan_shows_on_the_other_instance(
    app, client, session, session_factory, settings, keyring, batch, cause
):
    """Both instances have the genuine verdict (and page) cached; the next scan on the other says revoked."""
    if os.environ.get("TEST_REDIS_URL"):
        other = create_app(settings)
        other.extensions["ocop"].session_factory = session_factory
        other_client = other.test_client()
    else:
        other, other_client = app, client  # the in-process store cannot be shared between two apps
    path = vs.path_of(batch.urls[0])  # the stamp vs.void voids
    for c in (client, other_client, client, other_client):
        assert verdict(c, path) == "genuine"
        english = c.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "reported compromised" not in english
    if cause == "compromised":
        vs.compromise(session, keyring, batch)
    else:
        vs.revoke(session, batch, cause)
    lang = {"Accept-Language": "en"}
    if cause == "compromised":  # issued before the compromise: still genuine, now with the warning
        for c in (other_client, client):
            html = c.get(path, headers=lang).get_data(as_text=True)
            assert 'class="v genuine"' in html and "reported compromised" in html
    else:
        assert verdict(other_client, path) == "revoked"
        assert verdict(client, path) == "revoked"
    if other is not app:
        other.extensions["ocop"].engine.dispose()


def test_the_page_works_and_counts_while_redis_is_unreachable(settings, session_factory, batch):
    down = create_app(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    down.extensions["ocop"].session_factory = session_factory
    c = down.test_client()
    path = vs.path_of(batch.urls[0])
    assert verdict(c, path, "10.3.0.1") == "genuine"
    assert verdict(c, path, "10.3.0.2") == "genuine"
    assert scans_text(c, path, "10.3.0.3") == "3"  # counted in-process meanwhile
    assert down.extensions["ocop"].store.degraded_count > 0
    down.extensions["ocop"].engine.dispose()


@requires_redis
def test_a_redis_that_lost_its_scripts_gets_them_again(app, client, batch):
    path = vs.path_of(batch.urls[0])
    assert verdict(client, path) == "genuine"
    app.extensions["ocop"].store.redis.script_flush()
    assert scans_text(client, path, "10.4.0.1") == "2"


def test_only_verified_tokens_are_remembered(app, client, session, keyring, batch):
    from stamp_service.web.public import verify_env

    token = batch.tokens[0]
    assert verdict(client, f"/V/{token}") == "genuine"
    for bad in vs.not_genuine_tokens(session, keyring, token).values():
        assert verdict(client, f"/V/{bad}") == "not_genuine"
    with app.app_context():
        remembered = verify_env().verified
    assert remembered.get(token.upper()) is not None
    assert all(
        remembered.get(bad.upper()) is None for bad in vs.not_genuine_tokens(session, keyring, token).values()
    )
    assert verdict(client, f"/V/{token.lower()}") == "genuine"


def test_queue_entries_round_trip_and_old_json_entries_still_read():
    event = ScanEvent(serials.generate(), datetime.now(UTC), bytes(range(16)), "42", "zalo", "serial")
    assert ScanEvent.decode(event.encode()) == event
    no_province = ScanEvent(7, event.at, event.client, None, "other")
    assert ScanEvent.decode(no_province.encode()) == no_province
    old = json.dumps(
        {"s": 7, "t": event.at.timestamp(), "c": event.client.hex(), "p": None, "b": "other", "ch": "qr"}
    )
    assert ScanEvent.decode(old) == no_province


def test_background_flush_writes_full_batches_then_stops_after_a_partial_one(session, session_factory):
    store = Store(REDIS_URL)
    if store.redis is not None:
        store.redis.flushdb()
    log = ScanLog(store, flush_batch=3)
    serial = serials.generate()
    for i in range(7):
        log.record(session, ScanEvent(serial, datetime.now(UTC), bytes([i]) * 16, None, "chrome"))
    assert log.flush(session_factory, drain=False) == 7  # 3 + 3 + 1, then it stops
    assert log.flush(session_factory, drain=False) == 0
