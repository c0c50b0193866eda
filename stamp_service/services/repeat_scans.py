"""Repeat scans without a Redis round trip: the page's commonest request, answered from memory.

A *repeat* is a scan of a stamp by a client that already scanned it within the dedupe
window: it is logged but not counted (services.scans). Reloads, back buttons and a shop
assistant showing the page again are repeats, and so is every request of a client that
hammers one URL. Their answer is already known to this process: the verdict cached under a
status generation, the counters, the client's place in its rate window. So a repeat is
answered from this process's memory when all of these hold:

- the status generation pushed by Redis (services.generation_watch) is trusted right now and
  equals the one the remembered verdict was read under (a revocation anywhere moves it);
- the client's dedupe mark for the stamp, as Redis reported it, has at least a second left;
- the client's requests in the current rate window, as Redis last counted them plus those
  answered here since, stay within the limit (else the round trip counts and refuses);
- no place was shared (a new place must reach the stamp's place set at once).

Everything else takes the one-trip path (services.scan_gate) and refreshes this memory.

A batcher thread sends what the repeats owe Redis every ``repeat_batch_ms``: the rate
counts (``INCRBY``), each repeat's ``last`` time and its log entry (``RPUSH``, uncounted),
and reads the stamps' counters back, so the "verified N times" line lags by at most one
batch. Several workers each answer repeats for at most one batch period past the limit
before their counts reach Redis: the rate limit may let through that many extra requests.
If Redis fails, the batch is kept and retried (bounded), and the watcher's lost subscription
sends every request back to the round trip.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from stamp_service.domain.verification import ScanStats
from stamp_service.services.generation_watch import GenerationWatcher
from stamp_service.services.scan_gate import RateCheck
from stamp_service.services.scans import Recorded, ScanEvent, ScanLog

log = logging.getLogger(__name__)

MEMO_MAX = 50_000  # (verdict key, client) pairs remembered per process
PENDING_MAX = 100_000  # repeats kept for Redis while it does not answer; older ones are dropped
DEDUPE_MARGIN_SECONDS = 1.0  # go back to the round trip this long before Redis forgets the mark


@dataclass(frozen=True)
class _Remembered:
    generation: int
    subscription: int  # the watcher's subscription it was remembered under (see ``answer``)
    part: Any  # services.verification.StampPart (not imported: that module imports this one)
    serial: int
    repeat_until: float  # time.monotonic()


class RepeatScans:
    """One per app and process; ``answer`` on the request path, ``send`` from the batcher thread."""

    def __init__(self, scan_log: ScanLog, watcher: GenerationWatcher, *, batch_ms: int) -> None:
        assert scan_log.redis_backend is not None
        self.scan_log = scan_log
        self.backend = scan_log.redis_backend
        self.watcher = watcher
        self.batch_seconds = batch_ms / 1000
        self._lock = threading.Lock()
        self._memo: OrderedDict[tuple[str, bytes], _Remembered] = OrderedDict()
        self._stats: OrderedDict[int, ScanStats] = OrderedDict()  # bounded like the memo
        self._rates: dict[str, list[int]] = {}  # rate key -> [counted by Redis, answered here since]
        self._pending: list[tuple[ScanEvent, str, int]] = []  # event, rate key, window ttl
        self._thread_pid: int | None = None
        self._stop = threading.Event()
        self.answered = 0  # repeats answered here (tests, metrics)
        self.dropped = 0
        scan_log.before_flush.append(self.send)  # a flush in this process takes these repeats too

    # -- request side ----------------------------------------------------------------------------
    def answer(self, key: str, event: ScanEvent, rate: RateCheck) -> tuple[Any, ScanStats, int] | None:
        """``(part, stats, generation)`` for a repeat answered here, else None (take the round trip)."""
        if event.province:
            return None
        subscription = self.watcher.subscriptions
        generation = self.watcher.current()
        if generation is None:
            return None
        now = time.time()
        rate_key = rate.key(now)
        with self._lock:
            memo = self._memo.get((key, event.client))
            # Same subscription too: a Redis that lost its data restarts the count, and an old
            # entry must not match a generation number reached again.
            if (
                memo is None
                or memo.generation != generation
                or memo.subscription != subscription
                or time.monotonic() >= memo.repeat_until
            ):
                return None
            counts = self._rates.get(rate_key)
            if counts is None:
                return None
            near_limit = counts[0] + counts[1] + 1 > rate.limit.count
            if not near_limit:
                counts[1] += 1
                self._pending.append((event, rate_key, rate.limit.seconds + 1))
                stats = self._stats.get(memo.serial, ScanStats())
                self.answered += 1
        if near_limit:
            # Let Redis count what was answered here first, so the round trip refuses exactly.
            self._send_quietly()
            return None
        self._ensure_thread()
        return memo.part, replace(stats, last_at=event.at), generation

    def remember(
        self,
        key: str,
        event: ScanEvent,
        part: Any,
        generation: int | None,
        recorded: Recorded,
        rate_seen: tuple[RateCheck, int] | None,
    ) -> None:
        """After a round trip that recorded ``event``: what the next repeats may reuse."""
        if generation is None or recorded.dedupe_ms <= 0:
            return
        until = time.monotonic() + recorded.dedupe_ms / 1000 - DEDUPE_MARGIN_SECONDS
        subscription = self.watcher.subscriptions
        with self._lock:
            self._memo[(key, event.client)] = _Remembered(generation, subscription, part, event.serial, until)
            self._memo.move_to_end((key, event.client))
            while len(self._memo) > MEMO_MAX:
                self._memo.popitem(last=False)
            self._set_stats(event.serial, recorded.stats)
            if rate_seen is not None and rate_seen[1] > 0:
                rate, rate_used = rate_seen
                rate_key = rate.key(event.at.timestamp())
                counts = self._rates.setdefault(rate_key, [0, 0])
                counts[0] = max(counts[0], rate_used)
            if len(self._rates) > MEMO_MAX:  # windows pass: forget the oldest
                for old in list(self._rates)[: len(self._rates) // 2]:
                    del self._rates[old]

    def _set_stats(self, serial: int, stats: ScanStats) -> None:
        """Under ``_lock``."""
        self._stats[serial] = stats
        self._stats.move_to_end(serial)
        while len(self._stats) > MEMO_MAX:
            self._stats.popitem(last=False)

    # -- batcher ---------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread_pid == os.getpid() or self.batch_seconds <= 0:
            return
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
        threading.Thread(target=self._run, name="repeat-scans", daemon=True).start()

    def stop(self) -> None:
        """Send what waits and stop the batcher (the runtime's closers call this)."""
        self._stop.set()
        self._send_quietly()

    def _run(self) -> None:
        while not self._stop.wait(self.batch_seconds):
            try:
                self.send()
            except Exception:  # keep the batch for the next turn; never let the thread die
                log.warning("repeat scans: batch not sent", exc_info=True)

    def _send_quietly(self) -> None:
        try:
            self.send()
        except Exception:  # the round trip that follows works without it
            log.debug("repeat scans: batch not sent", exc_info=True)

    def send(self) -> int:
        """Send the waiting repeats to Redis in one pipeline; returns how many were sent."""
        import redis

        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        per_rate: dict[str, tuple[int, int]] = {}
        for _event, rate_key, ttl in batch:
            n, _ = per_rate.get(rate_key, (0, ttl))
            per_rate[rate_key] = (n + 1, ttl)
        serials = list(dict.fromkeys(event.serial for event, _, _ in batch))
        pipe = self.backend.redis.pipeline(transaction=False)
        prefix = self.scan_log.store_prefix
        for rate_key, (n, ttl) in per_rate.items():
            pipe.incrby(prefix + rate_key, n)
            pipe.expire(prefix + rate_key, ttl)
        for event, _, _ in batch:
            h, _c, _p = self.backend.keys_for(event.serial)
            pipe.hset(h, "last", f"{event.at.timestamp():.3f}")
            pipe.expire(h, self.scan_log.ttl)
            pipe.rpush(self.backend.queue, "0|" + event.encode())
        for serial in serials:
            self.backend.queue_live_read(pipe, serial)
        try:
            replies = pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError):
            # Not sent, or no answer: send again later (after a timeout Redis may have run it, so
            # a repeat can be logged twice and counted twice against its client's limit).
            with self._lock:
                self._pending[:0] = batch
                if len(self._pending) > PENDING_MAX:
                    extra = len(self._pending) - PENDING_MAX
                    del self._pending[:extra]
                    self.dropped += extra
            raise
        except redis.RedisError:  # Redis refused (out of memory, read-only replica): not retried
            with self._lock:
                self.dropped += len(batch)
            raise
        self._apply(replies, per_rate, len(batch), serials)
        return len(batch)

    def _apply(
        self, replies: list[Any], per_rate: dict[str, tuple[int, int]], sent: int, serials: list[int]
    ) -> None:
        i = 0
        with self._lock:
            for rate_key, (n, _ttl) in per_rate.items():
                counts = self._rates.setdefault(rate_key, [0, n])
                counts[0] = max(counts[0], int(replies[i]))
                counts[1] = max(0, counts[1] - n)
                i += 2
            queued = int(replies[i + 3 * sent - 1])
            i += 3 * sent
            for serial in serials:
                stats = self.backend.live_from(*replies[i : i + 3])
                i += 3
                if stats is not None:
                    self._set_stats(serial, stats)
        if queued >= self.scan_log.flush_batch:
            self.scan_log.wake()


_CREATING = threading.Lock()


def repeat_scans_for(runtime: Any) -> RepeatScans | None:
    """The runtime's RepeatScans (its watcher started), or None: no Redis, or turned off."""
    existing = runtime.services.get("repeat_scans")
    if existing is not None or runtime.store.redis is None:
        return existing  # type: ignore[no-any-return]
    with _CREATING:  # concurrent first requests must not start two watchers
        return _create(runtime)


def _create(runtime: Any) -> RepeatScans | None:
    existing = runtime.services.get("repeat_scans")
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    from stamp_service.services.scans import scan_log_for
    from stamp_service.services.verify_config import VerifyConfig

    config: VerifyConfig = runtime.services.get("verify_config") or VerifyConfig.load(runtime.settings)
    scan_log = scan_log_for(runtime)
    if config.repeat_batch_ms <= 0 or scan_log.redis_backend is None:
        return None
    watcher = GenerationWatcher(runtime.store)
    if not watcher.supported:
        return None
    watcher.start()
    repeats = RepeatScans(scan_log, watcher, batch_ms=config.repeat_batch_ms)
    runtime.services.setdefault("closers", []).extend([repeats.stop, watcher.stop])
    runtime.services["repeat_scans"] = repeats
    return repeats
