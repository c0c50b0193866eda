"""DATABASE_READ_URL: verification reads the stamp row from a read replica, everything else from the primary.

No streaming replica runs on this machine, so two stand-ins on its PostgreSQL play one:
- a second URL (another spelling of the host) for the same database: a replica that has caught up;
- a copy of the database (``CREATE DATABASE ... TEMPLATE``) taken before the newest issuance and a
  withdrawal: a replica that has not replayed them yet (lag).
Committed data, so each test works on databases of its own. PostgreSQL pass only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import delete

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.domain.access import SYSTEM, Role
from stamp_service.services import reference, stamp_rows
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.migrate import upgrade
from stamp_service.storage.models.stamps import Stamp
from tests.conftest import REDIS_URL
from tests.factories import make_caller
from tests.revocation_support import decision
from tests.stamp_factories import IssuedBatch, ensure_keyring, make_issued_batch


@dataclass
class World:
    primary_url: str
    keys: Path
    server: sa.Engine  # AUTOCOMMIT, for CREATE/DROP DATABASE
    names: list[str]

    def issue(self, n: int = 2) -> IssuedBatch:
        engine = make_engine(self.primary_url)
        with make_session_factory(engine)() as session:
            batch = make_issued_batch(session, ensure_keyring(session, self.keys), n=n)
        engine.dispose()
        return batch

    def admin(self) -> Any:
        engine = make_engine(self.primary_url)
        with make_session_factory(engine)() as session:
            caller = make_caller(session, Role.ADMIN)
        engine.dispose()
        return caller

    def copy(self) -> str:
        """A copy of the primary as it is now: a replica that replays nothing after this."""
        name = f"{self.names[0]}_replica"
        source = sa.make_url(self.primary_url).database
        with self.server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        self.names.append(name)
        return sa.make_url(self.primary_url).set(database=name).render_as_string(hide_password=False)

    def app(self, tmp_path: Path, read_url: str) -> Flask:
        if REDIS_URL:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()  # the generation of another database must not leak
        settings = Settings(
            database_url=self.primary_url,
            database_read_url=read_url,
            redis_url=REDIS_URL,
            keys_dir=self.keys,
            var_dir=tmp_path / "var",
            public_base_url="https://TEM.OCOP.LOCAL",
            log_json=False,
            testing=True,
        )
        return create_app(settings)


@pytest.fixture()
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    if not database_url.startswith("postgresql"):
        pytest.skip("DATABASE_READ_URL needs PostgreSQL")
    base = sa.make_url(database_url)
    server = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    name = f"ocop_replica_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    primary = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(primary)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        reference.load_builtin(session, SYSTEM)
        ensure_keyring(session, tmp_path / "keys")
    engine.dispose()
    w = World(primary, tmp_path / "keys", server, [name])
    yield w
    with server.connect() as conn:
        for db_name in reversed(w.names):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    server.dispose()


def stamp_reads(monkeypatch: pytest.MonkeyPatch, replica_factory: Any) -> tuple[list[int], list[int]]:
    """The stamp-row lookups from now on, (on the replica, on the primary), by the database the
    session is bound to. Counted at ``load_stamp``'s call: on PostgreSQL its statement goes to
    psycopg directly (a prepared statement), past SQLAlchemy's cursor events."""
    replica_url = replica_factory.kw["bind"].url
    on_replica: list[int] = []
    on_primary: list[int] = []
    real = stamp_rows.load_stamp

    def counting(session: Any, serial: int) -> Any:
        (on_replica if session.get_bind().url == replica_url else on_primary).append(serial)
        return real(session, serial)

    monkeypatch.setattr(stamp_rows, "load_stamp", counting)
    return on_replica, on_primary


def verdict(app: Flask, token: str) -> str:
    return str(app.test_client().get(f"/api/v1/verify/{token}").get_json()["verdict"])


def test_a_replica_that_has_the_row_answers_and_the_primary_is_not_asked(world, tmp_path, monkeypatch):
    batch = world.issue()
    other_spelling = world.primary_url.replace("@127.0.0.1", "@localhost", 1)
    assert other_spelling != world.primary_url  # a second URL, the same PostgreSQL and database
    app = world.app(tmp_path, other_spelling)
    rt = app.extensions["ocop"]
    try:
        on_replica, on_primary = stamp_reads(monkeypatch, rt.replica_session_factory)
        assert verdict(app, batch.tokens[0]) == "genuine"
        page = app.test_client().get(f"/V/{batch.tokens[1]}")  # the page (a counted scan) alike
        assert page.status_code == 200
        assert len(on_replica) == 2 and on_primary == []
    finally:
        rt.close()


def test_a_stamp_the_replica_has_not_received_yet_is_found_on_the_primary(world, tmp_path, monkeypatch):
    """Lag: the stamp was issued after the replica's state. Revocation comes from the primary."""
    old = world.issue()
    admin = world.admin()
    replica_url = world.copy()
    fresh = world.issue()  # issued after the replica's state
    gone = world.issue()  # issued after it too, then its first stamp removed: unknown everywhere
    engine = make_engine(world.primary_url)
    with make_session_factory(engine)() as session:
        session.execute(delete(Stamp).where(Stamp.serial == gone.stamps[0].serial))
        session.commit()
    engine.dispose()
    app = world.app(tmp_path, replica_url)
    rt = app.extensions["ocop"]
    try:
        on_replica, on_primary = stamp_reads(monkeypatch, rt.replica_session_factory)
        assert verdict(app, fresh.tokens[0]) == "genuine"  # not "not genuine": the primary had it
        assert (len(on_replica), len(on_primary)) == (1, 1)
        assert verdict(app, old.tokens[0]) == "genuine"  # the replica has it: the primary is not asked
        assert (len(on_replica), len(on_primary)) == (2, 1)
        assert verdict(app, gone.tokens[0]) == "not_genuine"  # neither has it
        assert (len(on_replica), len(on_primary)) == (3, 2)
        # A withdrawal the replica has not replayed: the verdict's status facts come from the primary.
        resp = app.test_client().post(
            f"/api/v1/certificates/{old.certificate.id}/withdrawal",
            json={"decision": decision(), "reason": "vi phạm an toàn thực phẩm"},
            headers=admin.headers,
        )
        assert resp.status_code == 200, resp.get_json()
        assert verdict(app, old.tokens[0]) == "revoked"
        assert len(on_replica) == 4  # the row still came from the replica
        from stamp_service.web.public import verify_env

        with app.app_context():
            rows = verify_env().stamp_rows
        assert (rows.replica_misses, rows.replica_errors) == (2, 0)
    finally:
        rt.close()


def test_a_replica_that_is_down_leaves_the_answers_to_the_primary(world, tmp_path):
    batch = world.issue()
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = sa.make_url(world.primary_url).set(host="127.0.0.1", port=port)
    app = world.app(tmp_path, down.render_as_string(hide_password=False))
    rt = app.extensions["ocop"]
    try:
        assert verdict(app, batch.tokens[0]) == "genuine"
        assert verdict(app, batch.tokens[1]) == "genuine"
        from stamp_service.web.public import verify_env

        with app.app_context():
            rows = verify_env().stamp_rows
            # The first lookup tried the replica and opened the breaker; the second went straight to
            # the primary instead of waiting for another connect timeout.
            assert rows.replica_errors == 1 and not rows.breaker.allow()
    finally:
        rt.close()
