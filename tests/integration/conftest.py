"""Fixtures shared by the integration tests: callers, and a committed PostgreSQL database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.services import reference
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.migrate import upgrade
from tests.conftest import PG_URL, _pg_url
from tests.factories import Caller, make_caller
from tests.stamp_factories import ensure_keyring


@pytest.fixture()
def admin(session) -> Caller:
    return make_caller(session, Role.ADMIN)


@pytest.fixture()
def inspector(session) -> Caller:
    return make_caller(session, Role.INSPECTOR)


@dataclass(frozen=True)
class CommittedDb:
    url: str
    engine: Engine
    keys_dir: Path  # holds the private half of the database's active signing key


@pytest.fixture(scope="module")
def committed_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CommittedDb]:
    """A migrated PostgreSQL database with reference data and an active key, whose commits other
    processes see (the per-test rolled-back transaction cannot be shared); dropped afterwards."""
    assert PG_URL, "committed_db needs TEST_DATABASE_URL (PostgreSQL pass)"
    name = f"ocop_committed_{uuid.uuid4().hex[:10]}"
    admin = make_engine(_pg_url(PG_URL, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(PG_URL, name)
    engine = make_engine(url)
    upgrade(engine)
    keys_dir = tmp_path_factory.mktemp("committed") / "keys"
    with make_session_factory(engine)() as session:
        reference.load_builtin(session, SYSTEM)
        ensure_keyring(session, keys_dir)
    try:
        yield CommittedDb(url, engine, keys_dir)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
