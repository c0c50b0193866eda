"""The backup and restore procedure of docs/operations.md, run for real (PostgreSQL pass).

``pg_dump -Fc`` of a database with issued stamps and audited changes is restored with
``pg_restore`` into a new database, and the keys folder is restored from its archive: the audit
chain verifies, every stamp verifies against the restored public keys, and scratch PINs derived
with the restored service secret are unchanged.
"""

from __future__ import annotations

import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from stamp_service.crypto import pins
from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import serials
from stamp_service.domain.stamp_format import verify
from stamp_service.services import audit, minting
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.models.stamps import Stamp
from tests.conftest import PG_URL, _pg_url
from tests.stamp_factories import ensure_keyring, make_issued_batch

pytestmark = pytest.mark.skipif(not PG_URL, reason="pg_dump/pg_restore: PostgreSQL pass")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_a_restored_dump_and_keys_verify_every_stamp_and_the_audit_chain(committed_db, tmp_path: Path):
    factory = make_session_factory(committed_db.engine)
    with factory() as session:
        ring = ensure_keyring(session, committed_db.keys_dir)
        batches = [make_issued_batch(session, ring, n=25, with_pin=True) for _ in range(2)]
        session.commit()
        pins_before = {
            s.serial: pins.derive_pin(ring, serials.from_db(s.serial)) for b in batches for s in b.stamps
        }

    # Backup, as docs/operations.md says: the database with pg_dump -Fc, the keys folder as an archive.
    dump = tmp_path / "ocop.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), _libpq(committed_db.url)], check=True)
    keys_archive = tmp_path / "keys.tar"
    with tarfile.open(keys_archive, "w") as tar:
        tar.add(committed_db.keys_dir, arcname="keys")

    # Restore into a new database and a new keys folder.
    name = f"ocop_restored_{uuid.uuid4().hex[:10]}"
    admin = make_engine(_pg_url(PG_URL, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    restored_url = _pg_url(PG_URL, name)
    restored = make_engine(restored_url)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq(restored_url), str(dump)], check=True
        )
        with tarfile.open(keys_archive) as tar:
            tar.extractall(tmp_path / "restored", filter="data")
        restored_ring = KeyRing(tmp_path / "restored" / "keys")

        with make_session_factory(restored)() as session:
            report = audit.verify_chain(session)
            assert report.ok, report
            assert report.entries > 0
            stamps = session.scalars(select(Stamp)).all()
            assert {s.serial for s in stamps} >= set(pins_before)
            lookup = restored_ring.lookup(session)
            for stamp in stamps:
                claims = verify(minting.token_for(stamp), public_key_lookup=lookup)
                assert claims.serial == serials.from_db(stamp.serial)
            for serial, pin in pins_before.items():
                assert pins.derive_pin(restored_ring, serials.from_db(serial)) == pin
    finally:
        restored.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
