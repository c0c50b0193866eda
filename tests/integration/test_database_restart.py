"""A PostgreSQL restart (its backends terminated) in the middle of a synchronous approval answers
problem+json: the committed result or a 503 with Retry-After, never an HTML 500 (PostgreSQL pass)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.domain.access import Role
from stamp_service.services import minting
from stamp_service.storage.models.stamps import StampRequest
from tests.conftest import PG_URL
from tests.factories import make_caller
from tests.issuance_helpers import approve, certified, post_request

pytestmark = pytest.mark.skipif(not PG_URL, reason="terminates PostgreSQL backends (PostgreSQL pass)")


def _terminate_backends(engine: sa.Engine) -> int:
    """What a server restart does to the service: every other connection to the database dies."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()


@pytest.mark.parametrize("when", ["first chunk", "second chunk", "after issuance", "inside chunk"])
def test_backends_terminated_during_a_synchronous_approval(committed_db, tmp_path: Path, monkeypatch, when):
    settings = Settings(
        database_url=committed_db.url,
        redis_url=None,
        keys_dir=committed_db.keys_dir,
        var_dir=tmp_path / "var",
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=False,  # production error handling
    )
    app = create_app(settings)
    rt = app.extensions["ocop"]
    with rt.session_factory() as session:
        setup = certified(session)
        admin = make_caller(session, Role.ADMIN)
        session.commit()
    client = app.test_client()
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 20}).get_json()["id"]

    real_chunk, real_store = minting.issue_chunk, minting._store
    calls = {"n": 0}

    def chunk_then_restart(session, **kwargs):
        calls["n"] += 1
        if when == "first chunk" and calls["n"] == 1:
            assert _terminate_backends(committed_db.engine) >= 1
        result = real_chunk(session, **{**kwargs, "chunk_size": 10})
        if (when == "second chunk" and calls["n"] == 1) or (when == "after issuance" and result.done):
            assert _terminate_backends(committed_db.engine) >= 1
        return result

    def restart_then_store(session, rows):
        _terminate_backends(committed_db.engine)
        return real_store(session, rows)

    monkeypatch.setattr(minting, "issue_chunk", chunk_then_restart)
    if when == "inside chunk":
        monkeypatch.setattr(minting, "_store", restart_then_store)
    try:
        r = approve(client, admin, rid)
        assert r.mimetype in ("application/json", "application/problem+json"), r.get_data(as_text=True)[:300]
        if r.status_code == 503:
            assert r.headers["Retry-After"]
            assert "Nothing was changed" not in r.get_json()["detail"]  # the approval had committed
        else:
            assert r.status_code == 200 and r.get_json()["state"] in ("approved", "issuing", "issued")
        with rt.session_factory() as session:
            assert session.get(StampRequest, rid).state != "pending"
        assert client.get(f"/api/v1/stamp-requests/{rid}", headers=admin.headers).status_code == 200
    finally:
        rt.close()
