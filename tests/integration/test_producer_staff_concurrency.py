"""The last-administrator rule under concurrency (PostgreSQL): two administrators of one producer
demoting each other at the same moment must not leave the producer without an administrator."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.errors import Conflict
from stamp_service.services import accounts
from stamp_service.storage.db import make_session_factory
from stamp_service.storage.models.accounts import Account
from tests.conftest import PG_URL
from tests.factories import make_producer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="the concurrency proof needs the real PostgreSQL (PG pass)"),
]


def _waiting_locks(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as s:
        return int(s.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")) or 0)


def test_two_administrators_demoting_each_other_at_once_leave_one(committed_db):
    factory = make_session_factory(committed_db.engine)
    with factory() as s:
        producer = make_producer(s)
        a = accounts.create_account(s, SYSTEM, name="race-a", role=Role.PRODUCER, producer_id=producer.id)
        b = accounts.create_account(s, SYSTEM, name="race-b", role=Role.PRODUCER, producer_id=producer.id)
        a_id, b_id, producer_id = a.id, b.id, producer.id
        a_principal, b_principal = accounts.principal_of(a), accounts.principal_of(b)
    assert a_principal.producer_admin and b_principal.producer_admin

    first = factory()  # A demotes B: holds the administrators' rows until it commits
    target = first.get(Account, b_id)
    assert target is not None
    accounts._keep_an_administrator(first, target)
    outcome: list[object] = []

    def b_demotes_a() -> None:
        with factory() as second:
            try:
                accounts.set_producer_admin(second, b_principal, a_id, admin=False)
                outcome.append("demoted")
            except Conflict as exc:
                outcome.append(exc.extra.get("rule"))

    thread = threading.Thread(target=b_demotes_a)
    thread.start()
    deadline = time.monotonic() + 30
    while _waiting_locks(factory) == 0:  # B's check waits for A's lock, not for a clock
        assert time.monotonic() < deadline, "B's check never waited for A's lock"
        time.sleep(0.05)
    target.producer_admin = False
    first.commit()
    first.close()
    thread.join(30)
    assert outcome == ["last-producer-admin"]
    with factory() as s:
        admins = s.scalars(
            select(Account.name).where(Account.producer_id == producer_id, Account.producer_admin.is_(True))
        ).all()
    assert admins == ["race-a"]
