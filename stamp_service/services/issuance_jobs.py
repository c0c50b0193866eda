"""Running issuance after approval: in the request for small runs, as a background job for large ones.

Below ``SYNC_LIMIT`` stamps the approving call mints them itself (chunks of
``minting.DEFAULT_CHUNK``, one transaction each). Larger requests become jobs:

* with Redis configured, an RQ job on the ``ocop-issuance`` queue, run by
  ``stamp-service worker``;
* on the embedded default (no Redis), one in-process worker thread per process.

Jobs hold nothing but a request id: progress lives in the request row
(``issued_count``), so any worker can resume any request. Workers sweep for
requests left ``approved``/``issuing`` (a crash, a restart, Redis down at
enqueue time) when they start, and the thread also every ``SWEEP_SECONDS``.
Two workers on one request are safe: ``minting.issue_chunk`` locks the request
and ``UNIQUE(request_id, seq)`` refuses a duplicate slot.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing, for_runtime
from stamp_service.domain.access import SYSTEM, Principal
from stamp_service.runtime import Runtime
from stamp_service.services import minting
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.stamps import StampRequest

log = logging.getLogger(__name__)

SYNC_LIMIT = 10_000
QUEUE_NAME = "ocop-issuance"
SWEEP_SECONDS = 30.0
STALE_AFTER = timedelta(minutes=5)  # a small request untouched this long was abandoned by its caller
JOB_TIMEOUT = 3600


def pending_request_ids(session: Session, *, everything: bool = False) -> list[int]:
    """Requests a worker should (re)run: large ones, stale ones, or (``everything``) all unfinished."""
    stmt = select(StampRequest.id).where(StampRequest.state.in_(minting.ISSUABLE_STATES))
    if not everything:
        stmt = stmt.where(
            or_(
                StampRequest.quantity_approved >= SYNC_LIMIT,
                StampRequest.updated_at < utcnow() - STALE_AFTER,
            )
        )
    ids = list(session.scalars(stmt.order_by(StampRequest.id)))
    session.rollback()
    return ids


def run_request(
    session: Session, request_id: int, keyring: KeyRing, *, actor: Principal = SYSTEM, progress: Any = None
) -> minting.ChunkResult:
    """Issue every missing slot of one request (resumes where it stopped)."""
    return minting.issue_all(session, request_id=request_id, keyring=keyring, actor=actor, progress=progress)


# --- RQ (production) -------------------------------------------------------------------------------

_job_runtime: Runtime | None = None


def bind_job_runtime(runtime: Runtime | None) -> None:
    """The runtime RQ jobs of this process use (``stamp-service worker`` and tests bind it)."""
    global _job_runtime
    _job_runtime = runtime


def _runtime_for_jobs() -> Runtime:
    global _job_runtime
    if _job_runtime is None:
        from stamp_service.config import load_settings

        _job_runtime = Runtime.from_settings(load_settings())
    return _job_runtime


def run_job(request_id: int) -> dict[str, Any]:
    """The RQ job: issue one request to the end; the result says where it ended."""
    runtime = _runtime_for_jobs()
    with runtime.session_factory() as session:
        result = run_request(session, request_id, for_runtime(runtime))
    return {"request_id": request_id, "state": result.state, "issued": result.issued_total}


def rq_queue(redis_url: str) -> Any:
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))


def enqueue(queue: Any, request_id: int) -> None:
    queue.enqueue(
        run_job,
        request_id,
        job_id=f"issue-request-{request_id}",
        job_timeout=JOB_TIMEOUT,
        result_ttl=86400,
        failure_ttl=7 * 86400,
    )


def enqueue_pending(runtime: Runtime, queue: Any) -> list[int]:
    """Queue every unfinished request again (worker start-up: resume after a crash)."""
    with runtime.session_factory() as session:
        ids = pending_request_ids(session, everything=True)
    for request_id in ids:
        enqueue(queue, request_id)
    return ids


# --- the in-process worker (embedded default) ----------------------------------------------------


class ThreadWorker:
    """One daemon thread per process that drains unfinished requests; ``wake()`` to start at once."""

    def __init__(self, runtime: Runtime, *, sweep_seconds: float = SWEEP_SECONDS) -> None:
        self.runtime = runtime
        self.sweep_seconds = sweep_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()  # after a fork the parent's thread does not exist here
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="ocop-issuance", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self, *, everything: bool = False) -> int:
        """Issue every pending request now (in the calling thread); returns how many were run."""
        keyring = for_runtime(self.runtime)
        with self.runtime.session_factory() as session:
            ids = pending_request_ids(session, everything=everything)
            for request_id in ids:
                if self._stop.is_set():
                    break
                run_request(session, request_id, keyring)
        return len(ids)

    def _loop(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self.drain(everything=first)
                self.last_error = None
            except Exception as exc:  # keep the worker alive; the request stays resumable
                if repr(exc) != self.last_error:  # one traceback per distinct failure, not per sweep
                    log.exception("issuance worker run failed")
                self.last_error = repr(exc)
            first = False
            self._wake.wait(self.sweep_seconds)
            self._wake.clear()


# --- the dispatcher the services call --------------------------------------------------------------


class Issuance:
    """What happens after approval, per runtime: see the module docstring."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: Any = None
        self._thread: ThreadWorker | None = None

    @property
    def backend(self) -> str:
        return "rq" if self.runtime.settings.redis_url else "thread"

    @property
    def queue(self) -> Any:
        if self._queue is None:
            assert self.runtime.settings.redis_url
            self._queue = rq_queue(self.runtime.settings.redis_url)
        return self._queue

    @property
    def thread(self) -> ThreadWorker:
        if self._thread is None:
            self._thread = ThreadWorker(self.runtime)
        return self._thread

    def start(self, session: Session, request_id: int, *, actor: Principal = SYSTEM) -> str:
        """Issue now (small request) or hand to the background; returns "done", "queued" or "stopped"."""
        request = session.get(StampRequest, request_id)
        if request is None or request.state not in minting.ISSUABLE_STATES:
            return "stopped"
        if (request.quantity_approved or 0) < SYNC_LIMIT:
            result = run_request(session, request_id, for_runtime(self.runtime), actor=actor)
            return "done" if result.done else result.state
        if self.backend == "rq":
            try:
                enqueue(self.queue, request_id)
            except Exception as exc:  # Redis down: the worker's start-up sweep picks the request up
                log.warning("could not queue issuance", extra={"request_id": request_id, "error": repr(exc)})
        elif not self.runtime.settings.testing:  # tests drive the worker themselves
            self.thread.wake()
        return "queued"


def for_app_runtime(runtime: Runtime) -> Issuance:
    issuance = runtime.services.get("issuance")
    if issuance is None:
        issuance = runtime.services.setdefault("issuance", Issuance(runtime))
    return issuance  # type: ignore[no-any-return]


def start_background(runtime: Runtime) -> None:
    """Embedded default: start this process's worker thread (resumes unfinished requests)."""
    issuance = for_app_runtime(runtime)
    if issuance.backend == "thread":
        issuance.thread.start()


__all__ = ["SYNC_LIMIT", "Issuance", "ThreadWorker", "run_job"]
