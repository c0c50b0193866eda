"""One Redis round trip for a scan: rate limit, status generation, cached values and the scan record.

A repeat scan of a known stamp used to cost three round trips (the rate-limit
counter, an ``MGET`` of the generation and the caches, the scan script). On a
busy two-core host those trips, not the work, set the page's throughput, so
one Lua script now does all of it atomically:

1. count the request against the client's rate limit (fixed window, as
   ``public_guard.hit``; over the limit it stops there: nothing else happens);
2. read the status generation and the requested cache values;
3. only when the first value (the stamp's verdict) is cached *under the
   current generation*, which proves the stamp is known, record the scan
   (``scans.RECORD_LUA_FUNCTION``: dedupe, counters, queue).

On a miss the caller computes the verdict from the database, stores it under
the generation read here and records the scan separately (two trips, once per
stamp and generation). Without Redis, or while it is unreachable, the same
steps run through ``Store`` and ``ScanLog`` one by one (their in-process
fallbacks), and ``generation`` is None while Redis is down: nothing is cached.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

from stamp_service.cache import Store
from stamp_service.errors import RateLimited
from stamp_service.services import public_guard
from stamp_service.services.fast_redis import FastLink, ReplyError, Unavailable
from stamp_service.services.scans import RECORD_LUA_FUNCTION, Recorded, ScanEvent, ScanLog
from stamp_service.services.status_events import GENERATION_KEY

# KEYS: 1 rate-limit counter, 2 generation, 3..2+n cached values, then the 5 record_scan keys (if any).
# ARGV: 1 n cached values, 2 limit (0: no limit), 3 window ttl, 4 record (1/0), 5.. record_scan args.
# Reply: {-1} when limited; else {hit, generation, requests counted in the window (0: no limit),
#        value 1..n, record_scan reply... (when recorded)}.
_GATE_LUA = (
    RECORD_LUA_FUNCTION
    + """
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local used = 0
if limit > 0 then
  used = redis.call('INCR', KEYS[1])
  if used == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3])) end
  if used > limit then return {-1} end
end
local gen = redis.call('GET', KEYS[2]) or '0'
local out = {0, gen, used}
for i = 1, n do out[3 + i] = redis.call('GET', KEYS[2 + i]) or '' end
local first = out[4]
if n > 0 and string.sub(first, 1, #gen + 1) == gen .. '|' then
  out[1] = 1
  if ARGV[4] == '1' then
    local k = 2 + n
    local rec = record_scan(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5],
                            ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10])
    for i = 1, #rec do out[#out + 1] = rec[i] end
  end
end
return out
"""
)


@dataclass(frozen=True)
class RateCheck:
    """Count this request against ``limit`` for ``subject`` (a client hash) in the same trip."""

    limit: public_guard.Limit
    subject: str

    def key(self, now: float) -> str:
        return f"rl:{self.limit.name}:{self.subject}:{int(now // self.limit.seconds)}"

    def refuse(self, now: float) -> RateLimited:
        window = int(now // self.limit.seconds)
        retry = max(1, int((window + 1) * self.limit.seconds - now) + 1)
        return RateLimited(f"too many requests; try again in {retry} seconds", retry_after=retry)


@dataclass(frozen=True)
class Gate:
    """What one trip learnt: the generation (None: Redis down), the values, the scan if recorded."""

    generation: int | None
    values: dict[str, bytes | None]
    recorded: Recorded | None = None
    rate_used: int = 0  # requests counted in the rate window so far, this one included

    def value(self, key: str) -> bytes | None:
        """The payload cached under ``key`` in the current generation, else None."""
        raw = self.values.get(key)
        if self.generation is None or raw is None:
            return None
        gen, _, payload = raw.partition(b"|")
        return payload if gen == str(self.generation).encode() else None

    def put(self, store: Store, key: str, payload: bytes, ttl: int) -> None:
        """Cache ``payload`` as computed under this generation (a later generation reads it as a miss)."""
        if self.generation is not None:
            store.set(key, str(self.generation).encode() + b"|" + payload, ttl=ttl)


def check_rate(store: Store, rate: RateCheck | None) -> int:
    """The rate limit on its own (used before work that must not run for refused clients).

    Returns the window's count so far (0 without a limit)."""
    return public_guard.hit(store, rate.limit, rate.subject) if rate is not None else 0


def open_gate(
    store: Store,
    scan_log: ScanLog,
    keys: list[str],
    *,
    rate: RateCheck | None = None,
    event: ScanEvent | None = None,
) -> Gate:
    """Rate-limit, read the generation and ``keys``, and record ``event`` if ``keys[0]`` is a hit.

    Raises RateLimited (nothing read or recorded) past the limit. ``Gate.recorded`` is None
    when the scan still has to be recorded by the caller (a miss, or no Redis).
    """
    backend = scan_log.redis_backend
    if store.redis is None or backend is None:
        return _one_by_one(store, keys, rate)
    import redis

    now = time.time()
    record = event is not None
    script_keys = [store.prefix + (rate.key(now) if rate else "rl:none"), store.prefix + GENERATION_KEY]
    script_keys += [store.prefix + k for k in keys]
    args: list[Any] = [len(keys), rate.limit.count if rate else 0, rate.limit.seconds + 1 if rate else 0]
    args.append(1 if record else 0)
    if event is not None:
        rec_keys, rec_args = backend.record_call(event, ttl=scan_log.ttl, dedupe=scan_log.dedupe)
        script_keys += rec_keys
        args += rec_args
    try:
        out = _evaluate(store, script_keys, args)
    except (redis.ConnectionError, redis.TimeoutError):
        check_rate(store, rate)  # counted in-process while Redis is down (Store logs the outage)
        return Gate(None, {})
    if out[0] == -1:
        assert rate is not None
        raise rate.refuse(now)
    values = {k: (bytes(v) if v else None) for k, v in zip(keys, out[3 : 3 + len(keys)], strict=True)}
    recorded = None
    if out[0] == 1 and record:
        recorded = backend.recorded(out[3 + len(keys) :])
    return Gate(int(out[1]), values, recorded, int(out[2]))


def _one_by_one(store: Store, keys: list[str], rate: RateCheck | None) -> Gate:
    """The in-process store (embedded default): the same steps, one call each."""
    check_rate(store, rate)
    raw = store.get(GENERATION_KEY)
    return Gate(int(raw or 0), {k: store.get(k) for k in keys})


_SCRIPTS: weakref.WeakKeyDictionary[Store, tuple[Any, FastLink]] = weakref.WeakKeyDictionary()


def _evaluate(store: Store, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA over the fast link (services.fast_redis), else through redis-py (which raises its
    ConnectionError/TimeoutError when Redis is down). A Redis that lost its scripts gets it again."""
    script, link = _SCRIPTS.get(store) or _SCRIPTS.setdefault(
        store, (store.redis.register_script(_GATE_LUA), FastLink(store.redis))
    )
    for _ in range(2):
        try:
            out = link.call("EVALSHA", script.sha, len(keys), *keys, *args)
        except Unavailable:
            break
        except ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                break
            script.sha = store.redis.script_load(_GATE_LUA)
            continue
        if store._degraded:  # Redis answers again: let the store run its recovery hooks
            store._ok()
        return out
    return script(keys=keys, args=args)
