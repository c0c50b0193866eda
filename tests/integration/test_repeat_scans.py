"""Repeat scans answered without a Redis round trip (services.repeat_scans, generation_watch).

Redis-only: without Redis every scan takes the in-process path, which the rest of the suite covers.
Each test checks ``answered`` so it proves the repeat path was really taken.
"""

from __future__ import annotations

import re
import time

import pytest

from stamp_service import create_app
from stamp_service.domain import serials
from stamp_service.services import status_events
from stamp_service.services.scans import scan_log_for
from stamp_service.storage.models.scans import Scan
from tests import verify_support as vs
from tests.conftest import REDIS_URL
from tests.stamp_factories import ensure_keyring, make_issued_batch

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs the real Redis (PostgreSQL + Redis pass)")


@pytest.fixture()
def settings(settings):
    return vs.verify_settings(settings, clone_max_scans=1000, rate_page_per_minute=8)


@pytest.fixture()
def batch(session, settings):
    return make_issued_batch(session, ensure_keyring(session, settings.keys_dir), n=3)


@pytest.fixture()
def other(app, settings):
    """A second worker on the same database and Redis."""
    second = create_app(settings)
    rt = second.extensions["ocop"]
    rt.session_factory = app.extensions["ocop"].session_factory
    yield second
    rt.close()


def repeats_of(app):
    from stamp_service.web.public import verify_env

    with app.app_context():
        repeats = verify_env().repeats
    assert repeats is not None
    wait_until(lambda: repeats.watcher.current() is not None)
    return repeats


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def page(client, path, addr="10.7.0.1"):
    return client.get(path, environ_base={"REMOTE_ADDR": addr})


def verdict_of(response) -> str:
    found = re.search(r'<section class="v (\w+)" role="status"', response.get_data(as_text=True))
    assert found, response.status_code
    return found.group(1)


def scans_text(response) -> str:
    found = re.search(r"Đã được kiểm tra (\d+) lần", response.get_data(as_text=True))
    assert found
    return found.group(1)


def test_repeats_skip_the_round_trip_and_are_still_logged(app, client, session, batch):
    repeats = repeats_of(app)
    path = vs.path_of(batch.urls[0])
    assert scans_text(page(client, path)) == "1"  # round trip: counted, remembered
    for _ in range(4):
        response = page(client, path)
        assert response.status_code == 200 and scans_text(response) == "1"
    assert repeats.answered == 4
    # Another client's scan is counted through the round trip and shows on the next repeat.
    assert scans_text(page(client, path, "10.7.0.2")) == "2"
    assert scans_text(page(client, path)) == "2" and repeats.answered == 5

    rt = app.extensions["ocop"]
    assert scan_log_for(rt).flush(rt.session_factory) == 7  # the flush takes this process's batch too
    rows = session.query(Scan).filter(Scan.serial == batch.stamps[0].serial).all()
    assert len(rows) == 7 and sum(r.counted for r in rows) == 2
    h, _c, _p = scan_log_for(rt).redis_backend.keys_for(serials.from_db(batch.stamps[0].serial))
    assert float(rt.store.redis.hget(h, "last")) == pytest.approx(max(r.scanned_at for r in rows).timestamp())


def test_the_rate_limit_still_refuses_exactly(app, client, batch):
    repeats = repeats_of(app)
    path = vs.path_of(batch.urls[0])
    codes = [page(client, path).status_code for _ in range(10)]
    assert codes == [200] * 8 + [429] * 2
    assert repeats.answered == 7  # the first request took the round trip; the 9th sent the batch first


@pytest.mark.parametrize("round_", range(3))
def test_a_revocation_elsewhere_reaches_a_worker_answering_repeats_at_once(
    app, client, admin, batch, other, round_
):
    """Worker ``other`` answers repeats from memory; a void made through ``app`` must show on its
    very next request (the published generation is applied before any request may use it)."""
    repeats = repeats_of(other)
    stamp = batch.stamps[round_]
    path = vs.path_of(batch.urls[round_])
    worker = other.test_client()
    assert verdict_of(page(worker, path)) == "genuine"
    assert verdict_of(page(worker, path)) == "genuine" and repeats.answered == 1
    serial = serials.format_serial(serials.from_db(stamp.serial))
    voided = client.post(
        "/api/v1/voids",
        json={"serial": serial, "reason_code": "lost", "reason": "cuộn tem bị mất"},
        headers=admin.headers,
    )
    assert voided.status_code == 200
    assert verdict_of(page(worker, path)) == "revoked"
    assert repeats.answered == 1


def test_a_lost_subscription_sends_every_scan_back_to_the_round_trip(app, client, batch):
    repeats = repeats_of(app)
    path = vs.path_of(batch.urls[0])
    page(client, path)
    page(client, path)
    assert repeats.answered == 1
    subscriptions = repeats.watcher.subscriptions
    rt = app.extensions["ocop"]
    mine = [c for c in rt.store.redis.client_list() if c["name"] == repeats.watcher.connection_name]
    assert len(mine) == 1
    rt.store.redis.client_kill_filter(_id=mine[0]["id"])  # as a network cut or a Redis restart would
    assert page(client, path).status_code == 200
    assert repeats.answered == 1  # the closed socket is noticed before any repeat is trusted
    watcher = repeats.watcher
    wait_until(lambda: watcher.subscriptions > subscriptions and watcher.current() is not None)
    page(client, path)  # what was remembered under the old subscription is not trusted: one trip
    assert repeats.answered == 1
    page(client, path)
    assert repeats.answered == 2


def test_a_bump_that_was_not_published_is_picked_up_by_the_recheck(app, batch):
    repeats = repeats_of(app)
    store = app.extensions["ocop"].store
    before = repeats.watcher.current()
    store.redis.incr(store.prefix + status_events.GENERATION_KEY)  # an older release bumping silently
    wait_until(lambda: repeats.watcher.current() == before + 1, seconds=3.0)


def test_many_threads_read_the_generation_at_once(app):
    """gunicorn's threads all ask at the same time (one shared poll object raised RuntimeError)."""
    from concurrent.futures import ThreadPoolExecutor

    watcher = repeats_of(app).watcher
    expected = watcher.current()

    def ask(_: int) -> set[int | None]:
        return {watcher.current() for _ in range(2000)}

    with ThreadPoolExecutor(8) as pool:
        seen = set().union(*pool.map(ask, range(8)))
    assert seen == {expected}


def shortcut_of(app):
    from stamp_service.web.repeat_page import RepeatPageShortcut

    layer = app.wsgi_app
    while not isinstance(layer, RepeatPageShortcut):
        layer = layer.app  # ProxyFix, when configured
    return layer


def test_the_shortcut_sends_what_flask_sent(app, client, batch, caplog):
    repeats_of(app)
    shortcut = shortcut_of(app)
    path = vs.path_of(batch.urls[0])
    gz = {"Accept-Encoding": "gzip", "X-Request-ID": "req-0000000001"}
    by_flask = client.get(path, headers=gz, environ_base={"REMOTE_ADDR": "10.8.0.1"})
    assert shortcut.served == 0
    with caplog.at_level("INFO", logger="stamp_service.access"):
        by_shortcut = client.get(
            path, headers=gz | {"X-Request-ID": "req-0000000002"}, environ_base={"REMOTE_ADDR": "10.8.0.1"}
        )
    assert shortcut.served == 1
    assert by_shortcut.status_code == by_flask.status_code == 200
    assert by_shortcut.get_data() == by_flask.get_data()
    assert by_shortcut.headers["Content-Encoding"] == "gzip"

    def headers(response):
        return sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")

    assert headers(by_shortcut) == headers(by_flask)
    assert by_shortcut.headers["X-Request-ID"] == "req-0000000002"
    (line,) = [r for r in caplog.records if r.name == "stamp_service.access"]
    assert (line.path, line.status, line.request_id) == ("/V/<token>", 200, "req-0000000002")


def test_requests_the_shortcut_does_not_know_go_to_flask(app, client, batch):
    repeats_of(app)
    shortcut = shortcut_of(app)
    path = vs.path_of(batch.urls[0])
    page(client, path)
    assert verdict_of(client.get(path + "?lang=en", environ_base={"REMOTE_ADDR": "10.7.0.1"})) == "genuine"
    assert client.get(path + "/extra", environ_base={"REMOTE_ADDR": "10.7.0.1"}).status_code == 404
    assert page(client, path[:-3] + "AAA").status_code == 200  # a tampered code: Flask says not genuine
    assert shortcut.served == 0
    # Any case and one trailing slash are the same stamp, so the same rendered page.
    assert verdict_of(page(client, path.lower() + "/")) == "genuine"
    assert shortcut.served == 1


def test_a_repeat_counted_by_the_shortcut_but_rendered_by_flask_is_logged_once(app, client, session, batch):
    from stamp_service.web.public import RenderedPages, verify_env

    repeats = repeats_of(app)
    shortcut = shortcut_of(app)
    path = vs.path_of(batch.urls[0])
    page(client, path)
    with app.app_context():
        verify_env().memo["rendered"] = RenderedPages()  # the rendered copy is gone (expired, evicted)
    assert verdict_of(page(client, path)) == "genuine"
    assert repeats.answered == 1 and shortcut.served == 0  # answered as a repeat, page made by Flask
    assert verdict_of(page(client, path)) == "genuine"
    assert repeats.answered == 2 and shortcut.served == 1
    rt = app.extensions["ocop"]
    assert scan_log_for(rt).flush(rt.session_factory) == 3


def test_metrics_count_repeats_and_shortcut_pages(app, client, admin, batch):
    repeats_of(app)
    path = vs.path_of(batch.urls[0])
    page_count = re.compile(
        r'^ocop_http_requests_total\{pid="\d+",route="/V/<token>",status="2xx"\} (\d+)$', re.M
    )

    def metrics() -> str:
        return client.get("/metrics", headers=admin.headers).get_data(as_text=True)

    found = page_count.search(metrics())
    before = int(found.group(1)) if found else 0  # the counters are per process, shared by tests
    for _ in range(3):
        assert page(client, path).status_code == 200
    assert shortcut_of(app).served == 2  # both repeats reused the first request's rendered page
    body = metrics()
    assert re.search(r'^ocop_repeat_scans_total\{pid="\d+"\} 2$', body, re.M)
    assert int(page_count.search(body).group(1)) == before + 3  # shortcut pages are counted too


def test_a_failing_recheck_drops_the_copy_and_the_watcher_recovers(app, monkeypatch):
    """A redis-py error in the thread (a stalled Redis) must never leave a frozen value trusted."""
    import redis as redis_py

    from stamp_service.services import generation_watch

    watcher = repeats_of(app).watcher
    subscriptions = watcher.subscriptions
    real_read = watcher._read_key
    failures = []

    def flaky_read() -> int:
        if not failures:
            failures.append(1)
            raise redis_py.TimeoutError("Timeout reading from socket")
        return real_read()

    monkeypatch.setattr(generation_watch, "RECHECK_SECONDS", 0.05)
    watcher._read_key = flaky_read  # the next re-check fails once
    wait_until(lambda: failures and watcher.subscriptions > subscriptions and watcher.current() is not None)
    store = app.extensions["ocop"].store
    store.redis.incr(store.prefix + status_events.GENERATION_KEY)  # unpublished: only the re-check sees it
    before = int(store.redis.get(store.prefix + status_events.GENERATION_KEY))
    wait_until(lambda: watcher.current() == before, seconds=3.0)


def test_memory_per_process_is_bounded(app, client, batch, monkeypatch):
    from stamp_service.services import repeat_scans

    repeats = repeats_of(app)
    monkeypatch.setattr(repeat_scans, "MEMO_MAX", 2)
    for i, url in enumerate(batch.urls):
        page(client, vs.path_of(url), addr=f"10.9.0.{i + 1}")
    assert len(repeats._memo) == 2 and len(repeats._stats) == 2
