"""Shared key-value store: Redis in production, an in-process fallback on the embedded default.

Part of the one Redis adapter (stamp_service.adapters.redis): the breaker below guards every
Redis call of the service (the scan counters' and the rate limiter's too, via ``attempt``); it is
``adapters.breaker.Breaker``, the one the read replica's lookups use too.

Redis failures degrade to the fallback with one log line per outage (and a
counter), never to an error: verification must keep working when Redis is down.
Every call has a short timeout (``REDIS_TIMEOUT``), and a failed call opens a
breaker: for ``BREAKER_SECONDS`` no call goes to Redis at all, so a hung Redis
(stopped, not closed) costs one timeout per process and period instead of one
per request; then one call tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from stamp_service.adapters.breaker import Breaker

log = logging.getLogger(__name__)
REDIS_TIMEOUT = 0.25  # seconds; Redis on the local network answers in well under a millisecond
BREAKER_SECONDS = 1.0


# KEYS: 1 generation, 2 the durable value it last took in. ARGV: 1 the durable (database) value.
# Moves the generation by one when the durable value is newer than the one taken in; returns it.
_ADVANCE_LUA = """
local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > seen then
  redis.call('SET', KEYS[2], ARGV[1])
  return redis.call('INCR', KEYS[1])
end
return tonumber(redis.call('GET', KEYS[1]) or '0')
"""


class Unavailable(Exception):
    """Redis is configured but did not answer (or the breaker is open): use the in-process fallback."""


class MemoryStore:
    """Thread-safe dict with expiry; correct only within one process."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float | None, Any]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> Any:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires is not None and expires <= now:
            del self._data[key]
            return None
        return value

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key, time.monotonic())

    def set(self, key: str, value: bytes, ttl: int | None = None) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl if ttl else None, value)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def ping(self) -> bool:
        return True

    def advance(self, key: str, seen_key: str, durable: int) -> int:
        """``Store.advance`` for one process."""
        with self._lock:
            now = time.monotonic()
            value = int(self._live(key, now) or 0)
            if durable > int(self._live(seen_key, now) or 0):
                value += 1
                self._data[seen_key] = (None, str(durable).encode())
                self._data[key] = (None, str(value).encode())
            return value


class Store:
    """Redis when configured and reachable, else the in-process fallback."""

    def __init__(self, redis_url: str | None, *, prefix: str = "ocop:") -> None:
        self.prefix = prefix
        self.url = redis_url
        self.memory = MemoryStore()
        self.redis: Any = None
        self.degraded_count = 0
        self.failures = 0  # calls that reached Redis and failed (each opened the breaker)
        self._degraded = False
        self.breaker = Breaker(BREAKER_SECONDS)
        # Called (once) when Redis answers again after an outage.
        self.on_recover: list[Callable[[], None]] = []
        if redis_url:
            import redis

            self.redis = redis.Redis.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
                health_check_interval=30,
            )

    @property
    def backend(self) -> str:
        return "redis" if self.redis is not None else "memory"

    def shared(self) -> bool:
        """True when this call may go to Redis: configured, and the breaker closed, or half open
        and this call is the one probe (the others keep falling back until the probe answers)."""
        return self.redis is not None and self.breaker.allow()

    def failed(self, exc: Exception) -> None:
        """A Redis call failed: open the breaker and fall back (``ScanLog`` reports here too)."""
        self.failures += 1
        self.breaker.failed()
        self._fallback(exc)

    def succeeded(self) -> None:
        """A Redis call answered: close the breaker (``ScanLog`` reports here too)."""
        self.breaker.succeeded()
        self._ok()

    def _fallback(self, exc: Exception | None) -> None:
        self.degraded_count += 1
        if not self._degraded:
            self._degraded = True
            log.warning("redis unavailable, using in-process fallback", extra={"error": repr(exc)})

    def _ok(self) -> None:
        if self._degraded:
            self._degraded = False
            log.info("redis reachable again")
            for callback in self.on_recover:
                try:
                    callback()
                except Exception:  # a recovery hook must never break the call that noticed it
                    log.warning("redis recovery hook failed", exc_info=True)

    def _call(self, name: str, key: str, *args: Any) -> Any:
        import redis

        if not self.shared():
            if self.redis is not None:
                self._fallback(None)
            return getattr(self.memory, name)(key, *args)
        try:
            if name == "get":
                result = self.redis.get(self.prefix + key)
            elif name == "set":
                value, ttl = args
                result = self.redis.set(self.prefix + key, value, ex=ttl)
            else:  # pragma: no cover - guarded by the public methods
                raise AssertionError(name)
            self.succeeded()
            return result
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.failed(exc)
            return getattr(self.memory, name)(key, *args)

    def attempt(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` (Redis commands) behind the breaker: Unavailable when Redis is not
        configured, the breaker is open, or the call fails to connect or times out."""
        import redis

        if not self.shared():
            raise Unavailable()
        try:
            result = fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.failed(exc)
            raise Unavailable() from exc
        self.succeeded()
        return result

    def get(self, key: str) -> bytes | None:
        return self._call("get", key)

    def set(self, key: str, value: bytes, ttl: int | None = None) -> None:
        self._call("set", key, value, ttl)

    def advance(self, key: str, seen_key: str, durable: int) -> int:
        """Move counter ``key`` by one if ``durable`` is newer than the value ``seen_key`` took in
        (atomic: one Lua call); returns ``key``'s value. Falls back like ``get``."""
        import redis

        if self.shared():
            try:
                value = self.redis.eval(_ADVANCE_LUA, 2, self.prefix + key, self.prefix + seen_key, durable)
                self.succeeded()
                return int(value)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.failed(exc)
        return self.memory.advance(key, seen_key, durable)

    def get_shared(self, key: str) -> tuple[bytes | None, bool]:
        """``GET key`` and whether the value is the shared one (False: Redis unreachable, no value)."""
        import redis

        if self.redis is None:
            return self.memory.get(key), True
        if not self.shared():
            return None, False
        try:
            value = self.redis.get(self.prefix + key)
            self.succeeded()
            return value, True
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.failed(exc)
            return None, False

    def delete(self, *keys: str) -> None:
        import redis

        self.memory.delete(*keys)
        if self.shared() and keys:
            try:
                self.redis.delete(*(self.prefix + k for k in keys))
                self.succeeded()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.failed(exc)

    def ping(self) -> bool:
        if self.redis is None:
            return True
        try:
            return bool(self.redis.ping())
        except Exception:  # readiness only reports; the reason is logged by callers
            return False
