"""The audit chain detects altered and removed entries."""

from __future__ import annotations

from sqlalchemy import text

from stamp_service.services.audit import verify_chain
from tests.factories import make_producer


def test_chain_verifies_then_breaks_on_a_tampered_row(session):
    make_producer(session)
    make_producer(session)
    report = verify_chain(session)
    assert report.ok and report.entries >= 2
    last_id = session.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
    session.execute(text("UPDATE audit_log SET reason = 'edited later' WHERE id = :i"), {"i": last_id})
    session.expire_all()
    report = verify_chain(session)
    assert not report.ok
    assert report.first_broken_id == last_id
    assert "altered" in report.problem


def test_chain_breaks_when_an_entry_is_removed(session):
    for _ in range(3):
        make_producer(session)
    ids = [r[0] for r in session.execute(text("SELECT id FROM audit_log ORDER BY id")).all()]
    session.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[-2]})
    session.expire_all()
    report = verify_chain(session)
    assert report.first_broken_id == ids[-1]
    assert "removed" in report.problem
