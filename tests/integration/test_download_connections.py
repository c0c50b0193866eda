"""Streamed print downloads give their database connection back, also when the client hangs up.

A real threaded HTTP server over a small pool (2 connections, no overflow): 4 clients download every
format 50 times, a quarter of them cut off after the first bytes. Afterwards no connection of the
database is left "idle in transaction" and an ordinary request still answers (PostgreSQL pass).
"""

from __future__ import annotations

import http.client
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.domain import serials
from stamp_service.domain.access import Role
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.models.stamps import Stamp
from tests.conftest import PG_URL
from tests.factories import make_caller
from tests.issuance_helpers import approve, certified, post_request

pytestmark = pytest.mark.skipif(not PG_URL, reason="pg_stat_activity needs the PostgreSQL pass")

CLIENTS = 4
ROUNDS = 50


def _settings(url: str, keys_dir: Path, var_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        redis_url=None,
        keys_dir=keys_dir,
        var_dir=var_dir,
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=False,
    )


def _get(port: int, path: str, headers: dict[str, str], *, hang_up: bool) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if hang_up:
            response.read(64)  # then close the socket mid-stream
        else:
            response.read()
        return response.status
    finally:
        conn.close()


def test_every_streamed_format_returns_its_connection(committed_db, tmp_path):
    app = create_app(_settings(committed_db.url, committed_db.keys_dir, tmp_path / "var"))
    rt = app.extensions["ocop"]
    rt.engine.dispose()
    rt.engine = make_engine(committed_db.url, pool_size=2, max_overflow=0, pool_timeout=3)
    rt.session_factory = make_session_factory(rt.engine)
    rt.session_factory.configure(info={"store": rt.store})

    with rt.session_factory() as session:
        setup = certified(session, lot_quantity=100)
        admin = make_caller(session, Role.ADMIN)
        session.commit()
    client = app.test_client()
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 40}).get_json()["id"]
    assert approve(client, admin, rid).get_json()["state"] == "issued"
    with rt.session_factory() as session:
        serial = session.scalar(sa.select(Stamp.serial).where(Stamp.request_id == rid).limit(1))
    compact = serials.compact(serials.from_db(serial))
    paths = [
        f"/api/v1/stamp-requests/{rid}/labels.csv",
        f"/api/v1/stamp-requests/{rid}/labels.zpl",
        f"/api/v1/stamp-requests/{rid}/labels.pdf",
        f"/api/v1/stamps/{compact}/stamp.svg",
        f"/api/v1/stamps/{compact}/stamp.png",
    ]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_port
    headers = setup.caller.headers
    try:

        def one_client(n: int) -> list[int]:
            statuses = []
            for i in range(ROUNDS):
                for path in paths:
                    statuses.append(_get(port, path, headers, hang_up=(i + n) % 4 == 0))
                    if statuses[-1] != 200:  # the pool ran dry: no need to wait out the rest
                        return statuses
            return statuses

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [s for batch in pool.map(one_client, range(CLIENTS)) for s in batch]
        assert results.count(200) == CLIENTS * ROUNDS * len(paths), sorted(set(results))

        with committed_db.engine.connect() as conn:
            stuck = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert stuck == 0
        assert rt.engine.pool.checkedout() == 0
        assert _get(port, f"/api/v1/stamp-requests/{rid}", headers, hang_up=False) == 200
    finally:
        server.shutdown()
        rt.close()
