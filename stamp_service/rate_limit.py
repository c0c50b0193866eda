"""One small rate limiter over the ``limits`` library: moving windows, Redis or memory.

With ``REDIS_URL`` every worker shares the counts (Redis storage); without it the counts live in
the process (the embedded default runs one worker). A limit is a name, a count and a window;
callers count events per subject (an account, a client address...) and ask whether the subject
is over its limit and for how long.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``seconds`` for one subject."""

    name: str
    count: int
    seconds: int

    @property
    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.count, self.seconds, namespace=f"ocop-rl-{self.name}")


class RateLimiter:
    """Counts events per (limit, subject); ``hit`` answers False once the subject is over the limit."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._storage = cast(Storage, storage_from_string(redis_url or "memory://"))
        self._limiter = MovingWindowRateLimiter(self._storage)

    def hit(self, limit: Limit, subject: str) -> bool:
        """Count one event; True while the subject is within its limit (this event included).

        If Redis is unreachable the event is allowed and logged: a limiter outage must not stop
        every sign-in (the password check itself still applies).
        """
        try:
            return self._limiter.hit(limit.item, subject)
        except Exception as exc:  # redis errors come in many classes; all degrade the same way
            log.warning("rate limiter unavailable", extra={"limit": limit.name, "error": type(exc).__name__})
            return True

    def allows(self, limit: Limit, subject: str) -> bool:
        """Whether one more event would be within the limit (counts nothing)."""
        try:
            return self._limiter.test(limit.item, subject)
        except Exception as exc:
            log.warning("rate limiter unavailable", extra={"limit": limit.name, "error": type(exc).__name__})
            return True

    def retry_after(self, limit: Limit, subject: str) -> int:
        """Seconds until the subject may try again (0 when it may now)."""
        if self.allows(limit, subject):
            return 0
        try:
            stats = self._limiter.get_window_stats(limit.item, subject)
        except Exception:
            return 0
        return max(1, int(stats.reset_time - time.time()) + 1)

    def clear(self, limit: Limit, subject: str) -> None:
        self._limiter.clear(limit.item, subject)
