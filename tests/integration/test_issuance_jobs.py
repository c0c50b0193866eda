"""Background issuance: the RQ job with a real Redis, the in-process worker thread, the CLI, resumption."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from stamp_service.cli import main
from stamp_service.config import Settings
from stamp_service.domain.access import SYSTEM
from stamp_service.runtime import Runtime
from stamp_service.services import issuance_jobs, minting, reference
from stamp_service.storage.migrate import upgrade
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.conftest import PG_URL, REDIS_URL
from tests.issuance_helpers import approve, certified, post_request
from tests.stamp_factories import ensure_keyring, make_request

BIG = issuance_jobs.SYNC_LIMIT


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


def _big_request(client, session, admin):  # type: ignore[no-untyped-def]
    setup = certified(session, lot_quantity=BIG)
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": BIG}).get_json()["id"]
    body = approve(client, admin, rid).get_json()
    assert (body["state"], body["issued_count"]) == ("approved", 0)  # queued, not issued in the call
    return setup, rid


@pytest.mark.skipif(not REDIS_URL, reason="RQ needs the real Redis (PostgreSQL+Redis pass)")
def test_a_large_request_runs_as_an_rq_job(app, client, session, admin, keyring):
    from rq import Queue, SimpleWorker

    setup, rid = _big_request(client, session, admin)
    rt = app.extensions["ocop"]
    queue = Queue(issuance_jobs.QUEUE_NAME, connection=issuance_jobs.for_app_runtime(rt).queue.connection)
    assert f"issue-request-{rid}" in queue.job_ids
    issuance_jobs.bind_job_runtime(rt)
    try:
        assert SimpleWorker([queue], connection=queue.connection).work(burst=True)
    finally:
        issuance_jobs.bind_job_runtime(None)
    progress = client.get(f"/api/v1/stamp-requests/{rid}", headers=setup.caller.headers).get_json()[
        "progress"
    ]
    assert progress == {
        "state": "issued",
        "issued_count": BIG,
        "quantity_approved": BIG,
        "stop_reason": None,
        "percent": 100,
    }
    assert (
        session.scalar(select(func.count(func.distinct(Stamp.serial))).where(Stamp.request_id == rid)) == BIG
    )


@pytest.mark.skipif(bool(REDIS_URL), reason="without Redis the embedded worker thread takes large requests")
def test_a_large_request_is_left_to_the_in_process_worker(app, client, session, admin, keyring):
    _setup, rid = _big_request(client, session, admin)
    worker = issuance_jobs.for_app_runtime(app.extensions["ocop"]).thread
    assert worker.drain() == 1  # the sweep finds large unfinished requests
    request = session.get(StampRequest, rid)
    session.refresh(request)
    assert (request.state, request.issued_count) == ("issued", BIG)


# --- a committed SQLite database of its own: threads and the CLI need real transactions ------------


@pytest.fixture(scope="module")
def file_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    root = tmp_path_factory.mktemp("jobs")
    settings = Settings(
        database_url=f"sqlite:///{root / 'jobs.sqlite3'}",
        redis_url=None,
        keys_dir=root / "keys",
        var_dir=root / "var",
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
    )
    settings.keys_dir.mkdir()
    rt = Runtime.from_settings(settings)
    upgrade(rt.engine)
    with rt.session_factory() as session:
        reference.load_builtin(session, SYSTEM)
        ensure_keyring(session, settings.keys_dir)
    yield rt
    rt.engine.dispose()


def _approved(rt: Runtime, quantity: int) -> int:
    with rt.session_factory() as session:
        s = certified(session, lot_quantity=quantity)
        return make_request(
            session,
            producer=s.producer,
            product=s.product,
            certificate=s.certificate,
            lot=s.lot,
            quantity=quantity,
        ).id


def _state(rt: Runtime, rid: int) -> tuple[str, int, int]:
    with rt.session_factory() as session:
        request = session.get(StampRequest, rid)
        assert request is not None
        stored = session.scalar(select(func.count()).where(Stamp.request_id == rid)) or 0
        return request.state, request.issued_count, stored


@pytest.mark.skipif(bool(PG_URL), reason="the embedded worker thread is an SQLite-pass test")
def test_worker_thread_resumes_a_crashed_request_and_takes_new_ones(file_runtime):
    crashed = _approved(file_runtime, 5000)
    with file_runtime.session_factory() as session:  # one chunk, then the process "died"
        minting.issue_chunk(
            session, request_id=crashed, keyring=issuance_jobs.for_runtime(file_runtime), chunk_size=1500
        )
    assert _state(file_runtime, crashed) == ("issuing", 1500, 1500)
    big = _approved(file_runtime, BIG)
    issuance = issuance_jobs.Issuance(file_runtime)
    with file_runtime.session_factory() as session:
        assert issuance.start(session, big) == "queued"  # wakes this process's worker thread
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (
        _state(file_runtime, big)[0],
        _state(file_runtime, crashed)[0],
    ) != ("issued", "issued"):
        time.sleep(0.2)
    issuance.thread.stop()
    assert issuance.thread.last_error is None
    assert _state(file_runtime, crashed) == ("issued", 5000, 5000)
    assert _state(file_runtime, big) == ("issued", BIG, BIG)


def _cli_env(rt: Runtime) -> dict[str, str]:
    s = rt.settings
    return {
        "DATABASE_URL": s.database_url,
        "OCOP_KEYS_DIR": str(s.keys_dir),
        "OCOP_VAR_DIR": str(s.var_dir),
        "REDIS_URL": "",
    }


def test_cli_issue_shows_progress_and_resumes(file_runtime):
    rid = _approved(file_runtime, 4500)
    runner = CliRunner()
    result = runner.invoke(main, ["issue", str(rid), "--chunk", "1000"], env=_cli_env(file_runtime))
    assert result.exit_code == 0, result.output
    assert f"stamp request {rid}: 4500/4500 stamps, issued" in result.output
    assert _state(file_runtime, rid) == ("issued", 4500, 4500)
    again = runner.invoke(main, ["issue", str(rid)], env=_cli_env(file_runtime))
    assert again.exit_code == 1 and "is issued" in again.output
    missing = runner.invoke(main, ["issue", "999999"], env=_cli_env(file_runtime))
    assert missing.exit_code == 2 and "no stamp request" in missing.output


def test_cli_worker_burst_drains_without_redis(file_runtime):
    rid = _approved(file_runtime, 300)
    result = CliRunner().invoke(main, ["worker", "--burst"], env=_cli_env(file_runtime))
    assert result.exit_code == 0, result.output
    assert _state(file_runtime, rid) == ("issued", 300, 300)


def test_worker_state_is_per_process(file_runtime, tmp_path: Path):
    worker = issuance_jobs.ThreadWorker(file_runtime, sweep_seconds=0.05)
    worker.start()
    first = worker._thread
    worker.start()  # idempotent within one process
    assert worker._thread is first
    worker.stop()
    assert not first.is_alive()  # type: ignore[union-attr]


# --- the RQ worker's periodic sweep: requests whose enqueue failed are queued again, once ----------


@pytest.fixture()
def rq_queue(app):  # the app fixture flushes this test run's Redis db
    assert REDIS_URL
    return issuance_jobs.rq_queue(REDIS_URL)


@pytest.mark.skipif(not REDIS_URL, reason="RQ needs the real Redis (PostgreSQL+Redis pass)")
def test_enqueue_never_makes_a_second_live_job_for_a_request(rq_queue):
    assert issuance_jobs.enqueue(rq_queue, 424242) is True
    assert issuance_jobs.enqueue(rq_queue, 424242) is False  # still waiting: not queued twice
    assert rq_queue.job_ids == ["issue-request-424242"]
    rq_queue.fetch_job("issue-request-424242").cancel()
    assert issuance_jobs.enqueue(rq_queue, 424242) is True  # ended jobs may be queued again
    assert rq_queue.job_ids == ["issue-request-424242"]


@pytest.mark.skipif(not REDIS_URL, reason="RQ needs the real Redis (PostgreSQL+Redis pass)")
def test_the_worker_sweep_queues_requests_left_approved_once(app, session, keyring, rq_queue):
    s = certified(session, lot_quantity=BIG)
    stranded = make_request(  # approved, but its enqueue failed (Redis was down)
        session, producer=s.producer, product=s.product, certificate=s.certificate, lot=s.lot, quantity=BIG
    )
    assert rq_queue.job_ids == []
    sweeper = issuance_jobs.Sweeper(app.extensions["ocop"], rq_queue, interval=0.05)
    sweeper.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not rq_queue.job_ids:
        time.sleep(0.05)
    time.sleep(0.3)  # several more sweeps
    sweeper.stop()
    assert sweeper.last_error is None
    assert rq_queue.job_ids == [f"issue-request-{stranded.id}"]  # once, however many sweeps
    assert sweeper.sweep() == []


def test_worker_sweep_interval_is_an_option(file_runtime):
    env = _cli_env(file_runtime)
    bad = CliRunner().invoke(main, ["worker", "--burst", "--sweep-seconds", "0"], env=env)
    assert bad.exit_code == 2 and "Invalid value for '--sweep-seconds'" in bad.output
    ok = CliRunner().invoke(main, ["worker", "--burst"], env=env | {"OCOP_WORKER_SWEEP_SECONDS": "5"})
    assert ok.exit_code == 0, ok.output


def test_compose_runs_the_worker():
    text = (Path(__file__).parents[2] / "compose.yaml").read_text()
    worker = text.split("\n  worker:\n", 1)[1].split("\nvolumes:", 1)[0]
    assert 'command: ["stamp-service", "worker"]' in worker and "REDIS_URL:" in worker
