"""Running issuance after approval: in the request for small runs, as a background job for large ones.

Below ``SYNC_LIMIT`` stamps the approving call mints them itself (chunks of
``minting.DEFAULT_CHUNK``, one transaction each). Larger requests become jobs:

* with Redis configured, an RQ job on the ``ocop-issuance`` queue, run by
  ``stamp-service worker``;
* on the embedded default (no Redis), one in-process worker thread per process.

Jobs hold nothing but a request id: progress lives in the request row
(``issued_count``), so any worker can resume any request. Workers sweep for
requests left ``approved``/``issuing`` (a crash, a restart, Redis down at
enqueue time) when they start and then every ``WORKER_SWEEP_SECONDS`` (the RQ
worker's ``Sweeper`` thread) or ``SWEEP_SECONDS`` (the in-process thread).
Enqueuing is idempotent: one job id per request, and a request whose job is
still waiting or running is not queued again (a short Redis lock per request
serialises the approval and every worker's sweep). "Running" means a renewed
lease (``Lease``): a job whose worker was killed is queued again by the next
sweep, not left "started" until RQ's maintenance notices. Two workers on one request
would still be safe: ``minting.issue_chunk`` locks the request and
``UNIQUE(request_id, seq)`` refuses a duplicate slot.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from stamp_service.adapters.redis import jobs as redis_jobs
from stamp_service.adapters.redis.jobs import LeaseKey
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
# ``stamp-service worker --sweep-seconds`` / OCOP_WORKER_SWEEP_SECONDS; with LEASE_SECONDS, a killed
# worker's job resumes within 40 s
WORKER_SWEEP_SECONDS = 20.0
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
_job_pid = os.getpid()


def bind_job_runtime(runtime: Runtime | None) -> None:
    """The runtime RQ jobs of this process use (``stamp-service worker`` and tests bind it)."""
    global _job_runtime, _job_pid
    _job_runtime, _job_pid = runtime, os.getpid()


def _runtime_for_jobs() -> Runtime:
    global _job_runtime, _job_pid
    if _job_runtime is None:
        from stamp_service.config import load_settings

        _job_runtime = Runtime.from_settings(load_settings())
    elif os.getpid() != _job_pid:
        # A forked RQ work-horse: never reuse the parent's pooled connections (the sweeper uses them).
        _job_runtime.engine.dispose(close=False)
    _job_pid = os.getpid()
    return _job_runtime


def run_job(request_id: int) -> dict[str, Any]:
    """The RQ job: issue one request to the end; the result says where it ended."""
    runtime = _runtime_for_jobs()
    assert runtime.settings.redis_url
    with Lease(runtime.settings.redis_url, request_id), runtime.session_factory() as session:
        result = run_request(session, request_id, for_runtime(runtime))
    return {"request_id": request_id, "state": result.state, "issued": result.issued_total}


# A running job renews its request's lease every LEASE_RENEW seconds. A job RQ still calls
# "started" whose lease has expired belongs to a worker that died (kill -9, a lost host): the next
# sweep queues the request again at once, instead of waiting for RQ's own clean-up (minutes).
LEASE_SECONDS = 15
LEASE_RENEW = 5.0


class Lease:
    """Holds the request's lease key in Redis while a job runs (a daemon thread renews it)."""

    def __init__(self, redis_url: str, request_id: int) -> None:
        self.key = LeaseKey(redis_url, request_id, LEASE_SECONDS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="ocop-issuance-lease", daemon=True)

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_RENEW):
            self.key.touch(str(os.getpid()))

    def __enter__(self) -> Lease:
        self.key.touch(str(os.getpid()))
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(LEASE_RENEW)
        self.key.release()


def rq_queue(redis_url: str) -> Any:
    return redis_jobs.rq_queue(redis_url, QUEUE_NAME)


def job_id(request_id: int) -> str:
    return f"issue-request-{request_id}"


# Job states after which a request may be queued again (anything else is waiting or running).
_ENDED = frozenset({"finished", "failed", "stopped", "canceled"})


def enqueue(queue: Any, request_id: int) -> bool:
    """Queue the request's job unless it is already waiting or running; True if queued now.

    A Redis lock per request makes check-then-enqueue atomic between the approving web worker
    and every worker's sweep, so one request never has two live jobs.
    """
    with redis_jobs.enqueue_lock(queue, request_id):
        job = queue.fetch_job(job_id(request_id))
        status = job.get_status(refresh=False) if job is not None else None
        status = getattr(status, "value", status)
        if status == "started" and not redis_jobs.lease_held(queue, request_id):
            # Its worker died mid-job (no lease renewed): RQ would notice only much later.
            log.warning("issuance job orphaned: queued again", extra={"request_id": request_id})
            job.delete()  # type: ignore[union-attr]  # from its registries too
        elif status is not None and status not in _ENDED:
            return False
        queue.enqueue(
            run_job,
            request_id,
            job_id=job_id(request_id),
            job_timeout=JOB_TIMEOUT,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )
        return True


def enqueue_pending(runtime: Runtime, queue: Any) -> list[int]:
    """Queue every unfinished request that has no live job (start-up and periodic sweep).

    Returns the ids queued now.
    """
    with runtime.session_factory() as session:
        ids = pending_request_ids(session, everything=True)
    return [request_id for request_id in ids if enqueue(queue, request_id)]


class Sweeper:
    """A daemon thread of ``stamp-service worker`` (RQ): every ``interval`` seconds, queue again the
    requests left approved/issuing without a live job (e.g. the approval's enqueue failed while
    Redis was down). Errors are logged and retried at the next sweep."""

    def __init__(self, runtime: Runtime, queue: Any, *, interval: float = WORKER_SWEEP_SECONDS) -> None:
        self.runtime, self.queue, self.interval = runtime, queue, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ocop-issuance-sweep", daemon=True)
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def sweep(self) -> list[int]:
        queued = enqueue_pending(self.runtime, self.queue)
        if queued:
            log.info("unfinished stamp requests queued again", extra={"request_ids": queued})
        return queued

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
                self.last_error = None
            except Exception as exc:  # Redis or the database down: try again at the next sweep
                if repr(exc) != self.last_error:
                    log.warning("issuance sweep failed", extra={"error": repr(exc)})
                self.last_error = repr(exc)


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
        self._wanted: set[int] = set()  # handed over explicitly: run at the next drain however small
        self.last_error: str | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()  # after a fork the parent's thread does not exist here
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="ocop-issuance", daemon=True)
            self._thread.start()

    def want(self, request_id: int) -> None:
        """Run this request at the next drain, even a small and fresh one."""
        with self._lock:
            self._wanted.add(request_id)

    def wake(self, request_id: int | None = None) -> None:
        if request_id is not None:
            self.want(request_id)
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
        with self._lock:
            wanted, self._wanted = self._wanted, set()
        with self.runtime.session_factory() as session:
            ids = sorted(set(pending_request_ids(session, everything=everything)) | wanted)
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
            try:
                result = run_request(session, request_id, for_runtime(self.runtime), actor=actor)
            except OperationalError as exc:
                # The approval is already committed: the caller must get it, not an error saying
                # nothing changed. The request stays resumable; the background finishes it.
                session.rollback()
                log.warning(
                    "issuing in the request failed", extra={"request_id": request_id, "error": str(exc)}
                )
                self.hand_off(request_id)
                return "queued"
            return "done" if result.done else result.state
        self.hand_off(request_id)
        return "queued"

    def hand_off(self, request_id: int) -> None:
        """Give the request to the background (RQ job or this process's thread)."""
        if self.backend == "rq":
            try:
                enqueue(self.queue, request_id)
            except Exception as exc:  # Redis down: the workers' periodic sweep picks the request up
                log.warning("could not queue issuance", extra={"request_id": request_id, "error": repr(exc)})
        elif self.runtime.settings.testing:  # tests drive the worker themselves
            self.thread.want(request_id)
        else:
            self.thread.wake(request_id)


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


__all__ = ["SYNC_LIMIT", "Issuance", "Sweeper", "ThreadWorker", "run_job"]
