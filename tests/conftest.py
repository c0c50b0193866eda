"""Shared fixtures: one migrated database per run, one rolled-back transaction per test.

The same suite runs on the embedded default (a SQLite file, in-process store)
and, when ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` are set, on the real
PostgreSQL and Redis of the machine (see scripts/test.sh).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.domain.access import SYSTEM
from stamp_service.services import reference
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.migrate import upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def _pg_url(base: str, dbname: str) -> str:
    url = sa.make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database with the built-in reference data, for the whole run."""
    if PG_URL:
        name = f"ocop_test_{uuid.uuid4().hex[:10]}"
        admin = make_engine(_pg_url(PG_URL, "postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = _pg_url(PG_URL, name)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        reference.load_builtin(session, SYSTEM)
    engine.dispose()
    yield url
    if PG_URL:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture()
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions joined to one outer transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield factory
    outer.rollback()
    connection.close()


@pytest.fixture()
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture()
def settings(database_url: str, tmp_path: Path) -> Settings:
    keys = tmp_path / "keys"
    keys.mkdir()
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        keys_dir=keys,
        var_dir=tmp_path / "var",
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=True,
    )


@pytest.fixture()
def app(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[Flask]:
    application = create_app(settings)
    rt = application.extensions["ocop"]
    session_factory.configure(info={"store": rt.store})
    rt.session_factory = session_factory
    if rt.store.redis is not None:
        rt.store.redis.flushdb()
    yield application
    rt.close()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()
