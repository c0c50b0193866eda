"""Withdrawal during a running issuance, on a real committed PostgreSQL database (its own).

A separate process issues a large request in small chunks; meanwhile this process withdraws
the certificate. Once the withdrawal has committed, no stamp may carry a later ``issued_at``,
no stamp is added afterwards, and the request ends ``stopped``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from stamp_service.domain.access import SYSTEM
from stamp_service.schemas.revocation import WithdrawalIn
from stamp_service.services import revocation
from stamp_service.storage.db import make_session_factory
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.conftest import PG_URL
from tests.factories import make_certificate, make_lot, make_producer, make_product
from tests.stamp_factories import make_request

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs the real PostgreSQL (PostgreSQL pass)"),
]

QUANTITY = 20_000
CHUNK = 100
WORKER = """
import sys
from pathlib import Path
from stamp_service.crypto.keyring import KeyRing
from stamp_service.services import minting
from stamp_service.storage.db import make_engine, make_session_factory
url, keys_dir, request_id, CHUNK = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with make_session_factory(make_engine(url))() as session:
    ring = KeyRing(Path(keys_dir))
    result = minting.issue_all(session, request_id=request_id, keyring=ring, chunk_size=CHUNK)
print(result.state, result.issued_total)
"""


def test_withdrawal_stops_a_running_issuance_for_good(committed_db):
    url, keys_dir = committed_db.url, committed_db.keys_dir
    factory = make_session_factory(committed_db.engine)
    with factory() as session:
        producer = make_producer(session)
        product = make_product(session, producer.id)
        cert = make_certificate(session, product.id)
        lot = make_lot(session, product.id, quantity=QUANTITY)
        request = make_request(
            session, producer=producer, product=product, certificate=cert, lot=lot, quantity=QUANTITY
        )
        request_id, cert_id = request.id, cert.id

    body = WithdrawalIn.model_validate_json(
        json.dumps(
            {
                "decision": {
                    "number": "3763/QĐ-UBND",
                    "decided_on": "2026-11-18",
                    "authority": "UBND tỉnh Hà Tĩnh",
                },
                "reason": "vi phạm khi kiểm tra",
            }
        )
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(keys_dir), str(request_id), str(CHUNK)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        with factory() as session:
            while (
                session.scalar(select(StampRequest.issued_count).where(StampRequest.id == request_id)) or 0
            ) < 1000:
                assert worker.poll() is None, worker.communicate()
                assert time.monotonic() < deadline, "the worker did not start issuing"
                session.rollback()
                time.sleep(0.02)
            session.rollback()
            result = revocation.withdraw_certificate(session, SYSTEM, cert_id, body)
            committed_at = datetime.now(UTC)
        assert result.changed
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    finally:
        if worker.poll() is None:
            worker.kill()

    with factory() as session:
        request = session.get(StampRequest, request_id)
        stamps = session.scalar(select(func.count()).select_from(Stamp).where(Stamp.request_id == request_id))
        last = session.scalar(select(func.max(Stamp.issued_at)).where(Stamp.request_id == request_id))
        assert request.state == "stopped" and "3763/QĐ-UBND" in request.stop_reason
        assert 1000 <= stamps == request.issued_count < QUANTITY
        assert last <= committed_at
        assert out.split()[0] == "stopped"
