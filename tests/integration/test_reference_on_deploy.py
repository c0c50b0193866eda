"""A new deployment from an empty database: `stamp-service migrate` loads the built-in reference
data, so the office can register its first producer; a second run changes and audits nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import func, select

from stamp_service.cli import main
from stamp_service.schemas.registry import ProducerIn
from stamp_service.services import accounts, registry
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.reference import AdministrativeUnit, ProductGroup
from tests.conftest import PG_URL, _pg_url
from tests.factories import producer_payload


@pytest.fixture()
def empty_database_url(tmp_path) -> Iterator[str]:
    """A database with nothing in it: SQLite, or a new PostgreSQL database in the PostgreSQL pass."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'new.sqlite3'}"
        return
    name = f"ocop_new_{uuid.uuid4().hex[:10]}"
    admin = make_engine(_pg_url(PG_URL, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(PG_URL, name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrate_from_nothing_gives_an_office_that_can_register_a_producer(
    empty_database_url, tmp_path, monkeypatch
):
    (tmp_path / "keys").mkdir()
    for name, value in {
        "DATABASE_URL": empty_database_url,
        "OCOP_VAR_DIR": str(tmp_path),
        "OCOP_KEYS_DIR": str(tmp_path / "keys"),
        "OCOP_LOG_FORMAT": "text",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    first = runner.invoke(main, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "built-in reference data loaded" in first.output and "(0 rows" not in first.output
    created = runner.invoke(
        main, ["accounts", "create", "vp-ha-tinh", "--role", "admin", "--province", "42", "--token"]
    )
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]

    engine = make_engine(empty_database_url)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(ProductGroup)) > 0
            assert session.get(AdministrativeUnit, "18418") is not None
            office = accounts.authenticate(session, token)
            data = ProducerIn.model_validate_json(json.dumps(producer_payload(commune_code="18418")))
            producer = registry.create_producer(session, office, data)
            assert producer.province_code == "42"
            audited = session.scalar(select(func.count()).select_from(AuditEntry))

        again = runner.invoke(main, ["migrate"])
        assert again.exit_code == 0 and "(0 rows added or updated)" in again.output
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == audited
    finally:
        engine.dispose()
