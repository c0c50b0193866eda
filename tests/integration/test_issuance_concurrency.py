"""Concurrency proof on the real PostgreSQL: separate OS processes race on the same requests and lots.

Runs in the PostgreSQL pass of `make test` (always run under CI, see scripts/test.sh). It needs
committed data that other processes can see, so it creates a database of its own instead of
using the rolled-back per-test transaction.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.services.stamp_requests import committed_stamps, lot_limit
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.models.registry import Lot
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.concurrency_workers import run_task
from tests.conftest import PG_URL
from tests.issuance_helpers import certified
from tests.stamp_factories import make_request

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="the concurrency proof needs the real PostgreSQL (PG pass)"),
]
SPAWN = multiprocessing.get_context("spawn")


def race(url: str, keys_dir: Path, tasks: list[tuple[Any, ...]]) -> list[tuple[str, str, Any]]:
    """Start one process per task, release them together, collect every outcome."""
    go, results = SPAWN.Event(), SPAWN.Queue()
    procs = [SPAWN.Process(target=run_task, args=(url, str(keys_dir), t, go, results)) for t in tasks]
    for p in procs:
        p.start()
    go.set()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert not [o for o in outcomes if o[1] == "crash"], outcomes
    return outcomes


def _session(url: str) -> Session:
    return make_session_factory(make_engine(url))()


def test_parallel_workers_never_duplicate_a_serial_or_fill_a_slot_twice(committed_db):
    url, keys_dir = committed_db.url, committed_db.keys_dir
    with _session(url) as session:
        s = certified(session, lot_quantity=10_000)
        rids = [
            make_request(
                session,
                producer=s.producer,
                product=s.product,
                certificate=s.certificate,
                lot=s.lot,
                quantity=3000,
            ).id
            for _ in range(3)
        ]
    tasks = [("issue", rids[i:] + rids[:i]) for i in range(3)]  # three workers, rotated orders
    race(url, keys_dir, tasks)
    with _session(url) as session:
        for rid in rids:
            request = session.get(StampRequest, rid)
            assert request is not None and (request.state, request.issued_count) == ("issued", 3000)
            seqs = session.scalars(select(Stamp.seq).where(Stamp.request_id == rid).order_by(Stamp.seq)).all()
            assert seqs == list(range(1, 3001))  # no gap, no slot beyond quantity_approved, none twice
        total = session.scalar(select(func.count()).select_from(Stamp).where(Stamp.request_id.in_(rids)))
        distinct = session.scalar(
            select(func.count(func.distinct(Stamp.serial))).where(Stamp.request_id.in_(rids))
        )
        assert total == distinct == 9000


def test_concurrent_requests_and_approvals_never_over_issue_a_lot(committed_db):
    url, keys_dir = committed_db.url, committed_db.keys_dir
    with _session(url) as session:
        s = certified(session, lot_quantity=1000)  # at most 1020 stamps with the 2 % spare
        lot_id = s.lot.id
    # four processes request-and-approve 7 stamps at a time until the lot refuses: many tight races
    outcomes = race(url, keys_dir, [("fill", lot_id, f"p{i}", 7) for i in range(4)])
    assert all(o[1] == "ok" for o in outcomes), outcomes
    granted = sum(o[2] for o in outcomes)
    assert granted == 1020 // 7, outcomes  # every process stopped only when the lot was really full
    with _session(url) as session:
        lot_stamps = session.scalar(select(func.count()).select_from(Stamp).where(Stamp.lot_id == lot_id))
        assert lot_stamps == granted * 7 <= 1020
        lot = session.get(Lot, lot_id)
        assert lot is not None and committed_stamps(session, lot_id) == lot_stamps <= lot_limit(lot, 2)


def test_one_approval_wins_and_one_idempotency_key_makes_one_request(committed_db):
    url, keys_dir = committed_db.url, committed_db.keys_dir
    with _session(url) as session:
        s = certified(session, lot_quantity=2000)
        pending = make_request(
            session,
            producer=s.producer,
            product=s.product,
            certificate=s.certificate,
            lot=s.lot,
            quantity=500,
            state="requested",
        ).id
        lot_id = s.lot.id
    tasks: list[tuple[Any, ...]] = [("approve", pending), ("approve", pending)]
    tasks += [("create_same", lot_id, "same-key", 50)] * 2
    outcomes = race(url, keys_dir, tasks)
    approvals = sorted(o[1] for o in outcomes if o[0] == "approve")
    assert approvals == ["conflict", "ok"], outcomes
    created = {o[2] for o in outcomes if o[0] == "create_same"}
    assert len(created) == 1 and all(o[1] == "ok" for o in outcomes if o[0] == "create_same")
    with _session(url) as session:
        assert session.scalar(select(func.count()).where(Stamp.request_id == pending)) == 500
        assert (
            session.scalar(
                select(func.count())
                .select_from(StampRequest)
                .where(StampRequest.idempotency_key == "same-key")
            )
            == 1
        )
