"""Migrations: they build exactly the models' schema, and 0002 upgrades a database that holds stamps.

Runs on the backend of the pass (SQLite file, or a scratch PostgreSQL database).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from stamp_service.domain.access import SYSTEM
from stamp_service.services import reference
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.migrate import downgrade, upgrade
from stamp_service.storage.models import Base
from stamp_service.storage.models.stamps import Stamp
from tests.conftest import PG_URL, _pg_url
from tests.factories import make_product
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def empty_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of this pass's backend."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"ocop_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(_pg_url(PG_URL, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(PG_URL, name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _schema_diff(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrations_build_the_models_schema(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        upgrade(engine)
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()


def test_0002_keeps_issued_stamps_and_enforces_the_request_key(empty_url: str, tmp_path: Path) -> None:
    engine = make_engine(empty_url)
    try:
        # Today's models write the data (at the head), then the schema goes back to 0001 with
        # the stamps in it: the models cannot write to an 0001 schema once later revisions add
        # columns to these tables.
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory() as session:
            reference.load_builtin(session, SYSTEM)
            ring = ensure_keyring(session, tmp_path / "keys")
            batch = make_issued_batch(session, ring, n=5)
            other_product = make_product(session, batch.producer.id)
            request_id, other_product_id = batch.request.id, other_product.id
        downgrade(engine, "0001")

        upgrade(engine)  # 0001 -> 0002 with stamps in place

        with factory() as session:
            assert session.scalar(select(func.count()).where(Stamp.request_id == request_id)) == 5
            stamp = session.scalar(select(Stamp).where(Stamp.request_id == request_id, Stamp.seq == 1))
            assert stamp is not None
            # A stamp whose product is not its request's product is refused by the database itself.
            stamp.product_id = other_product_id
            with pytest.raises(IntegrityError):
                session.commit()
            session.rollback()

        downgrade(engine, "0001")
        with factory() as session:
            assert session.scalar(select(func.count()).where(Stamp.request_id == request_id)) == 5
        upgrade(engine)
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()
