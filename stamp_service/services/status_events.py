"""Telling every worker that stamp statuses changed.

Any use case that changes what a stamp's verdict depends on (a certificate, a
lot recall, a void, a key state) calls :func:`status_changed` after its
commit. It moves the *status generation*: per-process caches of status facts
are keyed by it (services.generation_cache), so the next request on any worker
that reads the new value reloads the truth; the status bundle is rebuilt when
it moves. Revocations are rare, so one global counter is both simple and correct.

Two copies, because each alone fails somewhere:
- the database row ``status_generation`` is the durable one, bumped in its own
  transaction after the change commits;
- the shared store (Redis) holds what every request reads (one ``GET`` in the
  request's first round trip). It moves only through :func:`publish`, which takes
  in a durable value: the store remembers the last durable value it took in and
  moves its own counter by one when a newer one arrives (atomic, one Lua call).

A change made while Redis is unreachable (or by a process whose bump was lost)
reaches Redis through the per-process sync thread (:func:`start_sync_thread`),
which publishes the database value every ``SYNC_SECONDS``: within that time after
Redis answers again every worker sees the new generation, whichever worker gets
traffic. While Redis is unreachable, requests read the database value instead
(:func:`read_generation`), so a revocation made meanwhile is visible at once too.
Without Redis (embedded default) the same thread keeps the in-process store in
step with changes made by other processes (the CLI).

The store comes from ``session.info["store"]`` (set by the runtime's session
factory), so services need no extra argument.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from stamp_service.adapters.redis import Store
from stamp_service.storage.models.status import StatusGeneration

GENERATION_KEY = "status:generation"
PUBLISHED_KEY = "status:generation:durable"  # the database value the shared generation took in last
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
    """Bump the durable generation and publish it; returns the store's value (None: no store)."""
    durable = _bump_database(session)
    store: Store | None = session.info.get("store")
    if store is None:
        return None
    return publish(store, durable)


def publish(store: Store, durable: int) -> int:
    """The one way the shared generation moves: by one, when ``durable`` is newer than it has seen."""
    return store.advance(GENERATION_KEY, PUBLISHED_KEY, durable)


def current_generation(store: Store) -> int:
    raw = store.get(GENERATION_KEY)
    return int(raw) if raw is not None else 0


def sync_from_database(session: Session, store: Store) -> bool:
    """Publish the database's generation (a change the store missed moves it); True if it moved."""
    before = current_generation(store)
    return publish(store, database_generation(session)) != before


Generation = Hashable  # what caches are keyed by: an int from the store, ("db", n) from the database


def read_generation(shared: bytes | None, live: bool, session: Session) -> Generation:
    """The generation a request works under: the store's (``shared``, read in the request's first
    round trip) while it is ``live``, else the database's (a private copy could be stale)."""
    if live:
        return int(shared or 0)
    return ("db", database_generation(session))


def start_sync_thread(session_factory: sessionmaker[Session], store: Store) -> threading.Thread:
    """Every process, on the serving path: publish the database generation every SYNC_SECONDS."""
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
