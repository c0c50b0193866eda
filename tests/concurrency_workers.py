"""Code run in separate OS processes by tests/integration/test_issuance_concurrency.py.

Kept apart from the test module so a spawned child imports only the service, not pytest fixtures.
Each child builds its own engine on the committed test database, waits for the common start
signal, runs one task and reports ``(name, outcome, value)`` on the result queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_task(db_url: str, keys_dir: str, task: tuple[Any, ...], go: Any, results: Any) -> None:
    from stamp_service.config import Settings
    from stamp_service.crypto.keyring import for_runtime
    from stamp_service.domain.access import SYSTEM
    from stamp_service.errors import ServiceError
    from stamp_service.runtime import Runtime
    from stamp_service.schemas.stamp_requests import ApproveIn, StampRequestIn
    from stamp_service.services import minting, stamp_requests
    from stamp_service.services.issuance_jobs import Issuance

    settings = Settings(
        database_url=db_url,
        redis_url=None,
        keys_dir=Path(keys_dir),
        var_dir=Path(keys_dir).parent / "var",
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=True,
    )
    rt = Runtime.from_settings(settings)
    ring = for_runtime(rt)
    issuance = Issuance(rt)
    name = task[0]
    go.wait(60)
    try:
        with rt.session_factory() as session:
            if name == "issue":
                for rid in task[1]:
                    minting.issue_all(session, request_id=rid, keyring=ring, chunk_size=500)
                value: Any = None
            elif name == "create_approve":
                _, lot_id, key, quantity = task
                body = StampRequestIn(lot_id=lot_id, quantity=quantity)
                created = stamp_requests.create_request(
                    session, SYSTEM, body, idempotency_key=key, spare_percent=2
                )
                stamp_requests.approve(
                    session, SYSTEM, created.request.id, ApproveIn(), spare_percent=2, issuance=issuance
                )
                value = created.request.id
            elif name == "fill":  # request and approve small batches until the lot is full
                _, lot_id, prefix, quantity = task
                value = 0
                while True:
                    try:
                        created = stamp_requests.create_request(
                            session,
                            SYSTEM,
                            StampRequestIn(lot_id=lot_id, quantity=quantity),
                            idempotency_key=f"{prefix}-{value}",
                            spare_percent=2,
                        )
                        stamp_requests.approve(
                            session,
                            SYSTEM,
                            created.request.id,
                            ApproveIn(),
                            spare_percent=2,
                            issuance=issuance,
                        )
                    except ServiceError as exc:
                        if exc.extra.get("rule") != "lot-quantity-exceeded":
                            raise
                        session.rollback()
                        break
                    value += 1
            elif name == "approve":
                stamp_requests.approve(
                    session, SYSTEM, task[1], ApproveIn(), spare_percent=2, issuance=issuance
                )
                value = task[1]
            elif name == "create_same":
                _, lot_id, key, quantity = task
                created = stamp_requests.create_request(
                    session,
                    SYSTEM,
                    StampRequestIn(lot_id=lot_id, quantity=quantity),
                    idempotency_key=key,
                    spare_percent=2,
                )
                value = created.request.id
            else:
                raise AssertionError(name)
        results.put((name, "ok", value))
    except ServiceError as exc:
        results.put((name, exc.kind, exc.extra.get("rule")))
    except Exception as exc:  # reported to the test, which fails on it
        results.put((name, "crash", repr(exc)))
    finally:
        rt.engine.dispose()
