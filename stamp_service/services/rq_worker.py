"""``stamp-service worker`` with Redis: an RQ worker that outlives a Redis outage.

RQ's worker quits ("found an unhandled exception, quitting") when Redis is gone at the moment a
job ends (it cannot record the result). Issuance must not stop for that: this loop waits for
Redis to answer again and starts a fresh RQ worker. The finished job's request is already
committed in the database; if RQ lost track of the job, the sweep (``issuance_jobs.Sweeper``)
finds its lease gone and the re-run finds nothing left to issue.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from rq import Worker

log = logging.getLogger(__name__)

REDIS_WAIT_MAX = 10.0  # seconds between two tries at most while Redis is down


class IssuanceWorker(Worker):
    """An RQ worker that remembers whether it was asked to stop (SIGTERM/SIGINT)."""

    stop_requested = False

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop_requested = True
        super().request_stop(signum, frame)


def wait_for_redis(connection: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """Block until Redis answers PING (growing pauses, at most ``REDIS_WAIT_MAX`` seconds)."""
    pause = 0.5
    while True:
        try:
            connection.ping()
            return
        except Exception as exc:
            log.warning("waiting for Redis", extra={"error": repr(exc), "retry_in": pause})
            sleep(pause)
            pause = min(pause * 2, REDIS_WAIT_MAX)


def work(queue: Any, *, burst: bool) -> None:
    """Run RQ workers on ``queue`` until asked to stop (or, with ``burst``, until the queue is empty)."""
    while True:
        worker = IssuanceWorker([queue], connection=queue.connection)
        try:
            worker.work(burst=burst)
        except Exception as exc:  # RQ's own clean-up needs Redis too
            log.warning("RQ worker ended on an error", extra={"error": repr(exc)})
        if worker.stop_requested or burst:
            return
        # A stop signal while we wait ends the process at once (RQ's handlers belong to the old worker).
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        log.warning("RQ worker quit; starting again once Redis answers")
        wait_for_redis(queue.connection)
