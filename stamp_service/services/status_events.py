"""Telling every worker that stamp statuses changed.

Any use case that changes what a stamp's verdict depends on (a certificate, a
lot recall, a void, a key state) calls :func:`status_changed` after its
commit. It bumps one shared *status generation* counter: cached verification
views are keyed by the generation, so the next scan on any worker misses the
cache and reads the new truth; the status bundle compares its generation to
know it must be rebuilt. Revocations are rare, so one global counter is both
simple and correct.

The store comes from ``session.info["store"]`` (set by the runtime's session
factory), so services need no extra argument.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stamp_service.cache import Store

GENERATION_KEY = "status:generation"


def status_changed(session: Session) -> int | None:
    """Bump the generation; returns it (None when the session has no store, e.g. a bare script)."""
    store: Store | None = session.info.get("store")
    if store is None:
        return None
    return store.incr(GENERATION_KEY)


def current_generation(store: Store) -> int:
    raw = store.get(GENERATION_KEY)
    return int(raw) if raw is not None else 0
