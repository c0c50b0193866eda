"""The scan counters' Redis commands, Lua script and key format (services.scans decides what they mean).

Per stamp: a hash of counters, a HyperLogLog of client hashes and a set of shared provinces; per
(stamp, client) a dedupe mark; one queue of scan events for the flusher and its lock. Every
call goes through the Store's breaker (``Store.attempt`` in services.scans), so the replies here
are plain Redis values.
"""

from __future__ import annotations

from typing import Any

from stamp_service.adapters.redis.store import Store

PREFIX = "scan:"
QUEUE = PREFIX + "queue"
FLUSH_LOCK = PREFIX + "flush-lock"

# Keys: counters hash, client HLL, province set, dedupe key, queue.
# Args: now (epoch s), client hex, province or "", event (ScanEvent.encode), ttl s, dedupe s,
#       "1" when the database holds no totals for the stamp (then nothing needs seeding).
_RECORD_LUA = """
local function record_scan(kh, kc, kp, kr, kq, now, client, province, event, ttl, dedupe, nothing_stored)
  local fresh = redis.call('SET', kr, '1', 'NX', 'EX', tonumber(dedupe))
  local counted = 0
  if fresh then
    -- A repeat within the dedupe window (by far the commonest case: reloads) adds no client:
    -- it was put in the HLL, and the HLL's expiry pushed back, when it was counted.
    counted = 1
    redis.call('HINCRBY', kh, 'n', 1)
    redis.call('HSETNX', kh, 'first', now)
    redis.call('PFADD', kc, client)
    redis.call('EXPIRE', kc, tonumber(ttl))
  end
  redis.call('HSET', kh, 'last', now)
  redis.call('EXPIRE', kh, tonumber(ttl))
  if province ~= '' then
    redis.call('SADD', kp, province)
    redis.call('EXPIRE', kp, tonumber(ttl))
  end
  if nothing_stored == '1' then redis.call('HSETNX', kh, 'seeded', 1) end
  local qlen = redis.call('RPUSH', kq, counted .. '|' .. event)
  local v = redis.call('HMGET', kh, 'n', 'first', 'last', 'seeded', 'bc', 'bp')
  return {counted, v[1] or '0', v[2] or '', v[3] or '', v[4] or '', v[5] or '0', v[6] or '0',
          redis.call('PFCOUNT', kc), redis.call('SCARD', kp), qlen, redis.call('PTTL', kr)}
end
return record_scan(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5],
                   ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
"""


class RedisScans:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.p = store.prefix + PREFIX
        self.queue = store.prefix + QUEUE
        self.flush_lock = store.prefix + FLUSH_LOCK
        self._script = self.redis.register_script(_RECORD_LUA)

    def keys_for(self, serial: int) -> tuple[str, str, str]:
        s = f"{serial:016x}"
        return f"{self.p}h:{s}", f"{self.p}c:{s}", f"{self.p}p:{s}"

    def record(
        self,
        serial: int,
        at: float,
        client_hex: str,
        province: str,
        event: str,
        *,
        ttl: int,
        dedupe: int,
        stored: bool,
    ) -> list[Any]:
        """Count one scan and queue ``event`` (one round trip); ``record_scan``'s reply."""
        h, c, p = self.keys_for(serial)
        recent = f"{self.p}r:{serial:016x}:{client_hex}"
        args = [f"{at:.3f}", client_hex, province, event, ttl, dedupe, "0" if stored else "1"]
        return list(self._script(keys=[h, c, p, recent, self.queue], args=args))

    def seed(self, serial: int, totals: tuple[int, int, int, float] | None) -> None:
        """Add the database's (scans, clients, provinces, first scan time) once per stamp and store."""
        h, _c, _p = self.keys_for(serial)
        if not self.redis.hsetnx(h, "seeded", 1) or totals is None:
            return
        scans, clients, provinces, first_at = totals
        pipe = self.redis.pipeline()
        pipe.hincrby(h, "n", scans)
        pipe.hset(h, mapping={"bc": clients, "bp": provinces})
        pipe.hget(h, "first")
        first = pipe.execute()[-1]
        if first is None or float(first) > first_at:
            self.redis.hset(h, "first", f"{first_at:.3f}")

    def live(self, serial: int) -> tuple[Any, ...]:
        """(n, first, last, seeded clients, seeded provinces, HLL count, province count) of ``serial``."""
        return self.live_many([serial])[0]

    def live_many(self, serials: list[int]) -> list[tuple[Any, ...]]:
        """``live`` of several stamps in one round trip (the flusher's batch)."""
        pipe = self.redis.pipeline(transaction=False)
        for serial in serials:
            h, c, p = self.keys_for(serial)
            pipe.hmget(h, "n", "first", "last", "bc", "bp")
            pipe.pfcount(c)
            pipe.scard(p)
        out = pipe.execute()
        return [(*out[i], out[i + 1], out[i + 2]) for i in range(0, len(out), 3)]

    def peek(self, n: int) -> list[tuple[bool, str]]:
        """The first ``n`` queued events as (counted, event text)."""
        out = []
        for raw in self.redis.lrange(self.queue, 0, n - 1):
            flag, _, body = raw.decode().partition("|")
            out.append((flag == "1", body))
        return out

    def trim(self, n: int) -> None:
        self.redis.ltrim(self.queue, n, -1)

    def lock(self, seconds: int) -> bool:
        return bool(self.redis.set(self.flush_lock, "1", nx=True, ex=seconds))

    def unlock(self) -> None:
        self.redis.delete(self.flush_lock)
