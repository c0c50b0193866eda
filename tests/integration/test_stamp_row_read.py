"""The page's stamp-row read on its autocommit read session (stamp_status.load_stamp).

On PostgreSQL the row comes from a pool checkout, not from the Session's connection: the Session
begins nothing, and the connection goes back to the pool at once (under gunicorn the Session's
transaction around the one query cost more CPU than the query; docs/verification.md)."""

from __future__ import annotations

import pytest

from stamp_service.domain import serials
from stamp_service.services.stamp_status import load_stamp
from stamp_service.storage.db import make_engine, make_session_factory


def test_the_read_session_reads_a_row_without_beginning_a_transaction_or_holding_a_connection(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the pool-checkout read is PostgreSQL's (SQLite reads through the session)")
    engine = make_engine(database_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    reads = make_session_factory(engine)
    reads.configure(info={"autocommit_reads": True})
    try:
        with reads() as session:
            for serial in (987_654_321, 987_654_322):  # the second run uses the prepared statement
                assert load_stamp(session, serial) is None
                assert not session.in_transaction()
                assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_a_session_in_a_transaction_reads_what_it_holds(session, tmp_path):
    """A session bound to a connection in a transaction (the tests' outer transaction, whose rows
    no other connection sees) reads through that connection, even when marked: a pool checkout
    would not find the row."""
    from tests.stamp_factories import ensure_keyring, make_issued_batch

    batch = make_issued_batch(session, ensure_keyring(session, tmp_path / "k"), n=1)
    session.info["autocommit_reads"] = True
    try:
        row = load_stamp(session, serials.from_db(batch.stamps[0].serial))
    finally:
        del session.info["autocommit_reads"]
    assert row is not None and row.request_id == batch.stamps[0].request_id
