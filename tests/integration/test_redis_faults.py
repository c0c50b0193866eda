"""Redis faults on a dedicated redis-server this test starts (never the machine's shared one).

- hung (SIGSTOP: connections stay open, nothing answers): the page keeps answering, and the store's
  breaker means a process waits for one timeout per breaker period, not one per request;
- killed while scans are being counted: every scan record reaches the database (counted in-process
  during the outage and written by the next flush).
Timings are measured in bench/, not asserted here; these tests count what happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from stamp_service import create_app
from stamp_service.services.scans import scan_log_for
from stamp_service.storage.models.scans import Scan
from tests import verify_support as vs
from tests.ports import free_port
from tests.stamp_factories import ensure_keyring, make_issued_batch

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _start_redis(port: int, tmp_path) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc


@pytest.fixture()
def own_redis(tmp_path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    proc = _start_redis(port, tmp_path)
    yield proc, f"redis://127.0.0.1:{port}/0"
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
    proc.wait(10)


@pytest.fixture()
def app_on_own_redis(settings, session_factory, own_redis):
    proc, url = own_redis
    app = create_app(settings.with_overrides(redis_url=url))
    rt = app.extensions["ocop"]
    session_factory.configure(info={"store": rt.store})
    rt.session_factory = session_factory
    yield app, proc
    rt.close()


def test_a_hung_redis_costs_one_timeout_per_breaker_period_not_one_per_request(app_on_own_redis, session):
    app, proc = app_on_own_redis
    ring = ensure_keyring(session, app.extensions["ocop"].settings.keys_dir)
    batch = make_issued_batch(session, ring, n=3)
    client = app.test_client()
    paths = [vs.path_of(u) for u in batch.urls]
    assert client.get(paths[0]).status_code == 200
    store = app.extensions["ocop"].store
    assert store.failures == 0
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        statuses = [
            client.get(paths[i % 3], headers={"Accept-Language": "vi"}).status_code for i in range(12)
        ]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert statuses == [200] * 12
    # Each request would make two Redis calls; with the breaker open only the first one waited
    # (or a second one if the run outlasted a breaker period on a slow machine).
    assert 1 <= store.failures <= 3


def test_scans_counted_while_redis_is_killed_all_reach_the_database(
    app_on_own_redis, session, session_factory, tmp_path
):
    app, proc = app_on_own_redis
    ring = ensure_keyring(session, app.extensions["ocop"].settings.keys_dir)
    batch = make_issued_batch(session, ring, n=4)
    client = app.test_client()
    paths = [vs.path_of(u) for u in batch.urls]
    for i, path in enumerate(paths[:2]):
        assert client.get(path, headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code == 200
    scan_log = scan_log_for(app.extensions["ocop"])
    assert scan_log.flush(session_factory) == 2  # written from the Redis queue
    proc.kill()
    proc.wait(10)
    for path in paths:  # Redis is gone: counted in-process
        assert client.get(path).status_code == 200
    port = int(app.extensions["ocop"].settings.redis_url.rsplit(":", 1)[1].split("/")[0])
    (tmp_path / "again").mkdir()
    back = _start_redis(port, tmp_path / "again")  # Redis returns, empty, before the next flush
    try:
        time.sleep(1.1)  # the store's breaker period: the next calls go to Redis again
        assert scan_log.flush(session_factory) == 4  # written from this process's memory
    finally:
        back.kill()
        back.wait(10)
    logged = session.scalar(
        select(func.count()).select_from(Scan).where(Scan.serial.in_([s.serial for s in batch.stamps]))
    )
    assert logged == 6
