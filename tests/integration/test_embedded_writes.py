"""The embedded default (SQLite): concurrent writers wait their turn, and a 503 never hides a commit."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.domain.access import SYSTEM, Role
from stamp_service.services import issuance_jobs, reference
from stamp_service.storage.migrate import upgrade
from stamp_service.storage.models.registry import Producer
from stamp_service.storage.models.stamps import StampRequest
from tests.factories import make_caller, producer_payload
from tests.issuance_helpers import approve, certified, post_request
from tests.stamp_factories import ensure_keyring

WRITERS = 4
WRITES = 15


@pytest.fixture()
def embedded(tmp_path: Path):
    """An app on a SQLite file of its own, as ``make run`` has it (committed data, real locking)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ocop.sqlite3'}",
        redis_url=None,
        keys_dir=tmp_path / "keys",
        var_dir=tmp_path / "var",
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=True,
    )
    app = create_app(settings)
    rt = app.extensions["ocop"]
    upgrade(rt.engine)
    with rt.session_factory() as session:
        reference.load_builtin(session, SYSTEM)
        ensure_keyring(session, settings.keys_dir)
        session.commit()
    yield app
    rt.close()


def test_concurrent_writers_wait_their_turn_instead_of_503(embedded):
    rt = embedded.extensions["ocop"]
    with rt.session_factory() as session:
        admin = make_caller(session, Role.ADMIN)
        session.commit()
    statuses: list[int] = []
    go = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        client = embedded.test_client()
        go.wait()
        for i in range(WRITES):
            body = producer_payload(registration_number=f"40{n:02d}{i:06d}")
            statuses.append(client.post("/api/v1/producers", json=body, headers=admin.headers).status_code)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == [201] * (WRITERS * WRITES), sorted(set(statuses))
    with rt.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Producer)) == WRITERS * WRITES


def test_a_failure_after_the_approval_committed_answers_the_committed_request(embedded, monkeypatch):
    rt = embedded.extensions["ocop"]
    with rt.session_factory() as session:
        setup = certified(session)
        admin = make_caller(session, Role.ADMIN)
        session.commit()
    client = embedded.test_client()
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 20}).get_json()["id"]

    def locked(*_args, **_kwargs):
        raise OperationalError("INSERT INTO stamps ...", {}, Exception("database is locked"))

    monkeypatch.setattr(issuance_jobs, "run_request", locked)
    r = approve(client, admin, rid)
    with rt.session_factory() as session:
        state = session.get(StampRequest, rid).state
    assert state == "approved"  # the approval committed before issuance failed
    assert "Nothing was changed" not in r.get_data(as_text=True)
    assert r.status_code == 200 and r.get_json()["state"] == "approved"
    monkeypatch.undo()
    # the request is resumable: the worker finishes it
    issuance_jobs.for_app_runtime(rt).thread.drain()
    with rt.session_factory() as session:
        assert session.get(StampRequest, rid).state == "issued"
