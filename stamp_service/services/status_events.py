"""Telling every worker that stamp statuses changed.

Any use case that changes what a stamp's verdict depends on (a certificate, a
lot recall, a void, a key state) calls :func:`status_changed` after its
commit. It moves the *status generation*: cached verification views are keyed
by it, so the next scan on any worker misses the cache and reads the new truth;
the status bundle is rebuilt when it moves. Revocations are rare, so one global
counter is both simple and correct.

Two copies, because each alone fails somewhere:
- the shared store (Redis) is what the hot path reads, and is bumped with INCR and
  a PUBLISH of the new value in one step (:func:`bump_shared`), so each process's
  watcher (services.generation_watch) holds the value without asking per request;
- the database row ``status_generation`` is bumped too, so a change made while
  Redis is down, or by another process on the embedded default (a CLI action,
  whose in-process store nobody else sees), is not lost. When Redis comes back
  a process bumps it once more (changes may have been missed meanwhile), and
  without Redis a background thread copies the database value into the
  in-process store twice a second (:func:`sync_from_database`).

The store comes from ``session.info["store"]`` (set by the runtime's session
factory), so services need no extra argument.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from stamp_service.cache import Store
from stamp_service.storage.models.status import StatusGeneration

GENERATION_KEY = "status:generation"
GENERATION_CHANNEL = "status:generation:changed"
SYNC_SECONDS = 0.5
log = logging.getLogger(__name__)


def _bump_database(session: Session) -> int:
    """Add one to the durable generation in its own short transaction; returns the new value."""
    updated = session.execute(
        update(StatusGeneration).where(StatusGeneration.id == 1).values(value=StatusGeneration.value + 1)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        try:
            session.add(StatusGeneration(id=1, value=1))
            session.flush()
        except IntegrityError:  # another process created the row first
            session.rollback()
            return _bump_database(session)
    value = session.scalar(select(StatusGeneration.value).where(StatusGeneration.id == 1)) or 0
    session.commit()
    return int(value)


def database_generation(session: Session) -> int:
    return int(session.scalar(select(StatusGeneration.value).where(StatusGeneration.id == 1)) or 0)


def status_changed(session: Session) -> int | None:
    """Bump both copies; returns the store's value (None when the session has no store)."""
    _bump_database(session)
    store: Store | None = session.info.get("store")
    if store is None:
        return None
    return bump_shared(store)


def bump_shared(store: Store) -> int:
    """The one way the shared generation moves: increment and announce it to every watcher."""
    return store.incr_publish(GENERATION_KEY, GENERATION_CHANNEL)


def current_generation(store: Store) -> int:
    raw = store.get(GENERATION_KEY)
    return int(raw) if raw is not None else 0


def sync_from_database(session: Session, store: Store) -> bool:
    """Raise the store's generation to the database's if it is behind; True if it moved."""
    durable = database_generation(session)  # callers use a fresh session per call (see the thread)
    if durable > current_generation(store):
        store.set(GENERATION_KEY, str(durable).encode())
        return True
    return False


def watch_store(store: Store) -> None:
    """When Redis comes back after an outage, bump its generation once: bumps made meanwhile went
    only to the database and to one process's fallback."""

    def _recovered() -> None:
        if store.redis is not None:
            bump_shared(store)

    store.on_recover.append(_recovered)


def start_sync_thread(session_factory: sessionmaker[Session], store: Store) -> threading.Thread:
    """Embedded default (no Redis): keep this process's store in step with changes made elsewhere."""
    stop = threading.Event()

    def _run() -> None:
        while not stop.wait(SYNC_SECONDS):
            try:
                with session_factory() as session:
                    sync_from_database(session, store)
            except Exception:  # a locked or missing database: try again next tick
                log.debug("status generation sync failed", exc_info=True)

    thread = threading.Thread(target=_run, name="status-generation-sync", daemon=True)
    thread.start()
    return thread
