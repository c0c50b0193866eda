"""Where the verification page reads a stamp's row: a read replica when ``DATABASE_READ_URL`` is set.

Only the stamp row (``stamp_status.load_stamp``: the stamp, its request's stars, its persisted
scan totals) is read from the replica. A stamp row never changes after issuance, so a lagging
replica can only be *missing* a row: a stamp issued a moment ago. So when the replica does not
find a serial, the primary is asked before the answer is "not genuine"; an unknown serial costs
two queries (one on each), which a forged code never reaches (its signature fails first).

The status facts (the lot's recall, the product's current certificate, the voids) stay on the
primary, and so does the database generation: they are cached per status generation, and a
replica that has not replayed a revocation yet would put the old state into the cache under the
new generation, where it would stay until the next change. docs/operations.md, "Read replica".

A replica that fails opens a breaker (``adapters.breaker``, as for Redis): for ``BREAKER_SECONDS``
every lookup goes straight to the primary, then one probe tries the replica again. Without it a
replica that is down would cost every first scan its connect timeout.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from stamp_service.adapters.breaker import Breaker
from stamp_service.services.stamp_status import StampRow, load_stamp

log = logging.getLogger(__name__)
BREAKER_SECONDS = 5.0


class StampRows:
    """The stamp-row lookup of verification: the replica first, the primary when it has no row."""

    def __init__(self, replica: sessionmaker[Session] | None = None) -> None:
        self.replica = replica
        self.replica_misses = 0  # serials the replica did not have (lag, or unknown serials)
        self.replica_errors = 0  # the replica failed: the primary answered
        self.breaker = Breaker(BREAKER_SECONDS)
        self._lock = threading.Lock()

    def load(self, session: Session, serial: int) -> StampRow | None:
        """The stamp row of ``serial`` (``session``: the primary's, for the fallback)."""
        if self.replica is None or not self.breaker.allow():
            return load_stamp(session, serial)
        try:
            with self.replica() as replica:
                row = load_stamp(replica, serial)
        except DBAPIError as exc:  # replica down or restarting: the primary still answers
            with self._lock:
                self.replica_errors += 1
            if self.breaker.failed():  # log once per replica outage
                log.warning("read replica failed, reading the primary", extra={"error": repr(exc)})
            return load_stamp(session, serial)
        self.breaker.succeeded()
        if row is not None:
            return row
        with self._lock:
            self.replica_misses += 1
        return load_stamp(session, serial)
