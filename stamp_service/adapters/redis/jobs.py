"""The issuance job queue's Redis side: the RQ connection, the per-request enqueue lock and the
lease a running job holds (services.issuance_jobs decides when; this module owns the keys)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


def lease_key(request_id: int) -> str:
    return f"ocop:issuance:lease:{request_id}"


def rq_queue(redis_url: str, name: str) -> Any:
    """An RQ queue on its own connection (RQ's blocking calls want no short socket timeout)."""
    from redis import Redis
    from rq import Queue

    return Queue(name, connection=Redis.from_url(redis_url))


@contextlib.contextmanager
def enqueue_lock(queue: Any, request_id: int) -> Iterator[None]:
    """Held while one process checks and enqueues a request's job (atomic across processes)."""
    with queue.connection.lock(f"ocop:issuance:enqueue:{request_id}", timeout=30, blocking_timeout=10):
        yield


def lease_held(queue: Any, request_id: int) -> bool:
    return bool(queue.connection.exists(lease_key(request_id)))


class LeaseKey:
    """The key a running job renews (``touch``) and deletes at its end (``release``)."""

    def __init__(self, redis_url: str, request_id: int, seconds: int) -> None:
        from redis import Redis

        self.redis = Redis.from_url(redis_url, socket_timeout=5)
        self.key = lease_key(request_id)
        self.seconds = seconds

    def touch(self, holder: str) -> None:
        """Renew; a Redis outage is logged, never raised (the work goes on, the lease lapses at worst)."""
        try:
            self.redis.set(self.key, holder, ex=self.seconds)
        except Exception as exc:
            log.warning("issuance lease not renewed", extra={"key": self.key, "error": repr(exc)})

    def release(self) -> None:
        with contextlib.suppress(Exception):  # it expires on its own
            self.redis.delete(self.key)
