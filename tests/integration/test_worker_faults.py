"""``stamp-service worker`` under faults, as real processes on a Redis server of the test's own.

* kill -9 of the worker and its work-horse mid-job: a new worker resumes the request within
  60 s (the request's lease lapses; RQ alone would call the job "started" for many minutes);
* Redis gone when a job ends: the worker waits for Redis and goes on with the next job.
PostgreSQL pass (the processes share a committed database).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from stamp_service.services import issuance_jobs
from stamp_service.storage.db import make_session_factory
from stamp_service.storage.models.stamps import StampRequest
from tests.conftest import PG_URL
from tests.issuance_helpers import certified
from tests.ports import free_port
from tests.stamp_factories import make_request

pytestmark = pytest.mark.skipif(not PG_URL, reason="worker processes share a committed PostgreSQL database")
STAMP_SERVICE = str(Path(sys.executable).with_name("stamp-service"))


def _start_redis(port: int, tmp: Path) -> subprocess.Popen:
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
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen]]]:
    port = free_port()
    procs = [_start_redis(port, tmp_path)]
    yield port, procs
    for p in procs:
        p.kill()
        p.wait()


def _worker(db_url: str, keys_dir: Path, redis_port: int, tmp: Path, log_name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": db_url.replace("postgresql+psycopg://", "postgresql://"),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "OCOP_KEYS_DIR": str(keys_dir),
        "OCOP_VAR_DIR": str(tmp / "var"),
        "OCOP_WORKER_SWEEP_SECONDS": "20",
    }
    log = (tmp / log_name).open("wb")
    return subprocess.Popen([STAMP_SERVICE, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _stop(proc: subprocess.Popen) -> list[int]:
    """kill -9 of the worker and its work-horse (RQ starts the horse in a session of its own)."""
    horses = _children(proc.pid)
    for pid in [proc.pid, *horses]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(10)
    return horses


def _issued(factory, rid: int) -> tuple[str, int]:
    with factory() as session:
        req = session.get(StampRequest, rid)
        return req.state, req.issued_count


def _wait(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def _approved_request(factory, quantity: int) -> int:
    with factory() as session:
        s = certified(session, lot_quantity=quantity)
        req = make_request(
            session,
            producer=s.producer,
            product=s.product,
            certificate=s.certificate,
            lot=s.lot,
            quantity=quantity,
        )
        return req.id


def test_a_new_worker_resumes_a_job_whose_worker_was_killed(committed_db, own_redis, tmp_path):
    port, _ = own_redis
    factory = make_session_factory(committed_db.engine)
    rid = _approved_request(factory, 60_000)
    queue = issuance_jobs.rq_queue(f"redis://127.0.0.1:{port}/0")
    assert issuance_jobs.enqueue(queue, rid)

    first = _worker(committed_db.url, committed_db.keys_dir, port, tmp_path, "first.log")
    try:
        _wait(lambda: _issued(factory, rid)[1] > 0, 60, "the first worker started issuing")
    finally:
        assert _stop(first), "the worker had a work-horse"  # kill -9, worker and work-horse
    time.sleep(1)  # the work-horse is not our child: give the kernel a moment to reap it
    state, at_kill = _issued(factory, rid)
    assert state == "issuing" and at_kill < 60_000, "the job ended before the kill: make it larger"
    job = queue.fetch_job(issuance_jobs.job_id(rid))
    assert job.get_status().value == "started"  # what RQ still believes

    killed_at = time.monotonic()
    second = _worker(committed_db.url, committed_db.keys_dir, port, tmp_path, "second.log")
    try:
        _wait(lambda: _issued(factory, rid)[1] > at_kill, 60, "a new worker resumed the orphaned job")
        print(f"resumed {time.monotonic() - killed_at:.1f} s after the kill")
        _wait(lambda: _issued(factory, rid)[0] == "issued", 240, "the request was issued")
    finally:
        _stop(second)
    assert _issued(factory, rid) == ("issued", 60_000)


def test_the_worker_waits_for_redis_when_it_is_down_as_a_job_ends(committed_db, own_redis, tmp_path):
    port, procs = own_redis
    factory = make_session_factory(committed_db.engine)
    rid = _approved_request(factory, 15_000)
    queue = issuance_jobs.rq_queue(f"redis://127.0.0.1:{port}/0")
    assert issuance_jobs.enqueue(queue, rid)
    worker = _worker(committed_db.url, committed_db.keys_dir, port, tmp_path, "worker.log")
    try:
        _wait(lambda: _issued(factory, rid)[1] > 0, 60, "the worker started issuing")
        procs[0].kill()  # Redis goes away while the job runs
        procs[0].wait()
        _wait(lambda: _issued(factory, rid)[0] == "issued", 120, "the job finished without Redis")
        time.sleep(3)  # the job has ended and found no Redis
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
        procs.append(_start_redis(port, tmp_path))
        queue = issuance_jobs.rq_queue(f"redis://127.0.0.1:{port}/0")
        second = _approved_request(factory, 50)
        assert issuance_jobs.enqueue(queue, second)
        _wait(lambda: _issued(factory, second)[0] == "issued", 90, "the same worker ran the next job")
        assert worker.poll() is None
    finally:
        _stop(worker)
