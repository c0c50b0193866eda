"""The one Redis adapter: every Redis command, Lua script and key format of the service is here.

- ``Store`` (store.py): the shared key-value store with its in-process fallback, the breaker
  every Redis call goes through (short timeouts; ``attempt`` for the other modules here) and
  the status generation's counter;
- ``RateLimiter`` / ``Limit`` (limiter.py): the service's one rate limiter (``limits``);
- ``RedisScans`` (scans.py): the scan counters, their Lua script and the flusher's queue;
- jobs.py: the issuance queue's RQ connection, enqueue lock and job leases.

Services use these classes and never import redis-py.
"""

from stamp_service.adapters.redis.limiter import Limit, RateLimiter
from stamp_service.adapters.redis.scans import RedisScans
from stamp_service.adapters.redis.store import BREAKER_SECONDS, REDIS_TIMEOUT, MemoryStore, Store, Unavailable

__all__ = [
    "BREAKER_SECONDS",
    "REDIS_TIMEOUT",
    "Limit",
    "MemoryStore",
    "RateLimiter",
    "RedisScans",
    "Store",
    "Unavailable",
]
