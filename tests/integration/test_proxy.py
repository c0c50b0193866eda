"""The production setup survives slow clients: nginx (deploy/nginx) buffers requests before gunicorn.

200 connections trickle a body into the public /verify/report (one byte every 2 s) while the health
check and a stamp page keep answering through the proxy. PostgreSQL + Redis pass; the p99 is
printed as a report only (bench/slow_clients.py measures it against an unloaded baseline).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from stamp_service.storage.db import make_session_factory
from tests.conftest import PG_URL, REDIS_URL
from tests.ports import free_port
from tests.proxy_support import (
    SlowClients,
    p99,
    start_gunicorn,
    start_nginx,
    timed_get,
    wait_for,
)
from tests.stamp_factories import ensure_keyring, make_issued_batch

pytestmark = pytest.mark.skipif(not PG_URL, reason="the production setup: PostgreSQL + Redis pass")
SLOW = 200
REQUESTS = 60


@pytest.fixture()
def proxied(committed_db, tmp_path):
    """gunicorn (2 workers x 4 threads) behind nginx; yields (proxy base URL, a stamp page path)."""
    factory = make_session_factory(committed_db.engine)
    with factory() as session:
        ring = ensure_keyring(session, committed_db.keys_dir)
        batch = make_issued_batch(session, ring, n=1)
        session.commit()
    stamp_path = urlsplit(batch.urls[0]).path
    app_port, proxy_port = free_port(), free_port()
    env = {
        "DATABASE_URL": committed_db.url.replace("postgresql+psycopg://", "postgresql://"),
        "REDIS_URL": REDIS_URL or "",
        "OCOP_KEYS_DIR": str(committed_db.keys_dir),
        "OCOP_VAR_DIR": str(tmp_path / "var"),
        "OCOP_TRUSTED_PROXIES": "1",
        "OCOP_LOG_FORMAT": "text",
    }
    app = start_gunicorn(env, app_port, tmp_path / "gunicorn.log")
    proxy = start_nginx(app_port, proxy_port, tmp_path / "nginx")
    try:
        wait_for(f"http://127.0.0.1:{proxy_port}/healthz")
        yield f"http://127.0.0.1:{proxy_port}", stamp_path
    finally:
        for proc in (proxy, app):
            proc.terminate()
            proc.wait(20)


def test_health_and_stamp_page_answer_through_the_proxy_while_200_clients_trickle(proxied):
    base, stamp_path = proxied
    assert timed_get(base + stamp_path)[0] == 200
    port = int(base.rsplit(":", 1)[1])
    with SlowClients(port, "/verify/report", SLOW) as slow:
        assert slow.open >= SLOW * 0.9
        urls = [base + "/healthz", base + stamp_path] * (REQUESTS // 2)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda u: timed_get(u, timeout=10), urls))
    statuses = [status for status, _ in results]
    worst = p99([seconds for _, seconds in results]) * 1000
    print(f"\n{SLOW} slow clients: {len(results)} requests through nginx, p99 {worst:.1f} ms (report only)")
    assert statuses == [200] * len(urls)
