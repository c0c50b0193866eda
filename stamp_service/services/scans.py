"""The scan log and per-stamp counters: live in the store, persisted to the database in batches.

One scan costs one Redis round trip (a Lua script in adapters.redis.scans): count it unless the same
client opened the same stamp within the dedupe window, add the client hash
to a HyperLogLog and the shared province to a set, and queue the event. A
flusher (a background thread per process, or ``stamp-service scans flush``)
moves queued events into ``scans`` rows and ``scan_counters`` totals under a
store lock, so a scan never waits for a database write.

Without Redis (embedded default), or while Redis is unreachable, an
in-process backend does the same: correct for the one-process embedded
server; counters then restart from the database totals (they are "seeded"
from ``scan_counters`` the first time a stamp is seen by a store).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from stamp_service.adapters.redis import RedisScans, Store, Unavailable
from stamp_service.domain import serials
from stamp_service.domain.verification import ScanStats
from stamp_service.storage.models.scans import Scan, ScanCounter

log = logging.getLogger(__name__)

CHANNELS = ("qr", "serial")


@dataclass(frozen=True)
class ScanEvent:
    serial: int  # unsigned
    at: datetime
    client: bytes  # 16-byte keyed hash of the client address
    province: str | None
    browser: str
    channel: str = "qr"

    def encode(self) -> str:
        """The queue form: tab-separated (JSON cost a tenth of a scan's CPU at both ends)."""
        return (
            f"{self.serial}\t{self.at.timestamp()!r}\t{self.client.hex()}\t{self.province or ''}"
            f"\t{self.browser}\t{self.channel}"
        )

    @classmethod
    def decode(cls, text: str) -> ScanEvent:
        if text.startswith("{"):  # queued by an older version
            d = json.loads(text)
            serial, at, client, province, browser, channel = (
                d["s"],
                d["t"],
                d["c"],
                d["p"],
                d["b"],
                d.get("ch", "qr"),
            )
        else:
            serial, at, client, province, browser, channel = text.split("\t", 5)
        return cls(
            int(serial),
            datetime.fromtimestamp(float(at), UTC),
            bytes.fromhex(client),
            province or None,
            str(browser)[:16],
            channel,
        )


@dataclass(frozen=True)
class Recorded:
    counted: bool
    stats: ScanStats
    seeded: bool
    queued: int
    dedupe_ms: int = 0  # how long this client's next scans of the stamp stay uncounted repeats


def _ts(raw: Any) -> datetime | None:
    if raw in (None, "", b""):
        return None
    return datetime.fromtimestamp(float(raw), UTC)


class Totals(Protocol):
    """A stamp's persisted totals (a ``ScanCounter`` row, or ``stamp_status.ScanCounts``)."""

    @property
    def scans(self) -> int: ...
    @property
    def first_at(self) -> datetime: ...
    @property
    def clients(self) -> int: ...
    @property
    def provinces(self) -> int: ...


class _Backend(Protocol):
    def record(self, event: ScanEvent, *, ttl: int, dedupe: int, stored: bool) -> Recorded: ...
    def seed(self, serial: int, row: Totals | None) -> None: ...
    def live(self, serial: int) -> ScanStats | None: ...
    def live_many(self, serials: list[int]) -> list[ScanStats | None]: ...
    def peek(self, n: int) -> list[tuple[bool, ScanEvent]]: ...
    def trim(self, n: int) -> None: ...
    def lock(self, seconds: int) -> bool: ...
    def unlock(self) -> None: ...


class MemoryBackend:
    """The same semantics in one process (exact distinct counts instead of HyperLogLog)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._hash: dict[int, dict[str, Any]] = {}
        self._recent: dict[tuple[int, bytes], float] = {}
        self._queue: list[tuple[bool, ScanEvent]] = []

    def record(self, event: ScanEvent, *, ttl: int, dedupe: int, stored: bool) -> Recorded:
        now = time.monotonic()
        with self._lock:
            if len(self._recent) > 100_000:  # drop expired dedupe marks now and then
                self._recent = {k: v for k, v in self._recent.items() if v > now}
            key = (event.serial, event.client)
            fresh = self._recent.get(key, 0.0) <= now
            if fresh:
                self._recent[key] = now + dedupe
            h = self._hash.setdefault(event.serial, {"n": 0, "clients": set(), "provinces": set()})
            if fresh:
                h["n"] += 1
                h.setdefault("first", event.at)
            h["last"] = event.at
            if not stored:
                h["seeded"] = True
            h["clients"].add(event.client)
            if event.province:
                h["provinces"].add(event.province)
            self._queue.append((fresh, event))
            stats = self._stats(h)
            left = int((self._recent[key] - now) * 1000)
            return Recorded(fresh, stats, bool(h.get("seeded")), len(self._queue), left)

    @staticmethod
    def _stats(h: dict[str, Any]) -> ScanStats:
        return ScanStats(
            scans=h["n"],
            first_at=h.get("first"),
            last_at=h.get("last"),
            clients=max(len(h["clients"]), h.get("bc", 0)),
            provinces=max(len(h["provinces"]), h.get("bp", 0)),
        )

    def seed(self, serial: int, row: Totals | None) -> None:
        with self._lock:
            h = self._hash.setdefault(serial, {"n": 0, "clients": set(), "provinces": set()})
            if h.get("seeded"):
                return
            h["seeded"] = True
            if row is not None:
                h["n"] += row.scans
                if h.get("first") is None or row.first_at < h["first"]:
                    h["first"] = row.first_at
                h["bc"], h["bp"] = row.clients, row.provinces

    def live(self, serial: int) -> ScanStats | None:
        with self._lock:
            h = self._hash.get(serial)
            return self._stats(h) if h else None

    def live_many(self, serials: list[int]) -> list[ScanStats | None]:
        return [self.live(serial) for serial in serials]

    def peek(self, n: int) -> list[tuple[bool, ScanEvent]]:
        with self._lock:
            return list(self._queue[:n])

    def trim(self, n: int) -> None:
        with self._lock:
            del self._queue[:n]

    def lock(self, seconds: int) -> bool:
        return self._flush_lock.acquire(blocking=False)

    def unlock(self) -> None:
        if self._flush_lock.locked():
            self._flush_lock.release()


class RedisBackend:
    """The ``_Backend`` over the adapter's Redis scan commands (adapters.redis.scans)."""

    def __init__(self, scans: RedisScans) -> None:
        self.scans = scans

    def record(self, event: ScanEvent, *, ttl: int, dedupe: int, stored: bool) -> Recorded:
        out = self.scans.record(
            event.serial,
            event.at.timestamp(),
            event.client.hex(),
            event.province or "",
            event.encode(),
            ttl=ttl,
            dedupe=dedupe,
            stored=stored,
        )
        counted, n, first, last, seeded, bc, bp, pf, sc, qlen, dedupe_ms = out
        stats = ScanStats(int(n), _ts(first), _ts(last), max(int(pf), int(bc)), max(int(sc), int(bp)))
        return Recorded(bool(counted), stats, bool(seeded), int(qlen), max(0, int(dedupe_ms)))

    def seed(self, serial: int, row: Totals | None) -> None:
        totals = None if row is None else (row.scans, row.clients, row.provinces, row.first_at.timestamp())
        self.scans.seed(serial, totals)

    def live(self, serial: int) -> ScanStats | None:
        return self.live_many([serial])[0]

    def live_many(self, serials: list[int]) -> list[ScanStats | None]:
        out: list[ScanStats | None] = []
        for n, first, last, bc, bp, clients, provinces in self.scans.live_many(serials):
            if n is None:
                out.append(None)
                continue
            out.append(
                ScanStats(
                    int(n),
                    _ts(first),
                    _ts(last),
                    max(int(clients), int(bc or 0)),
                    max(int(provinces), int(bp or 0)),
                )
            )
        return out

    def peek(self, n: int) -> list[tuple[bool, ScanEvent]]:
        return [(counted, ScanEvent.decode(text)) for counted, text in self.scans.peek(n)]

    def trim(self, n: int) -> None:
        self.scans.trim(n)

    def lock(self, seconds: int) -> bool:
        return self.scans.lock(seconds)

    def unlock(self) -> None:
        self.scans.unlock()


SCAN_COLUMNS = ("serial", "scanned_at", "client_hash", "province_code", "browser", "channel", "counted")


def _insert_scans(session: Session, batch: list[tuple[bool, ScanEvent]]) -> None:
    """Write scan rows cheaply: a busy page queues hundreds of scans a second.

    PostgreSQL: ``COPY`` (a tenth of the CPU of ORM objects, on both sides); elsewhere a bulk
    INSERT of plain rows. Both run inside the session's transaction.
    """
    rows = [
        (serials.to_db(e.serial), e.at, e.client, e.province, e.browser, e.channel, counted)
        for counted, e in batch
    ]
    if session.get_bind().dialect.name == "postgresql":
        raw = session.connection().connection.driver_connection
        sql = f"COPY {Scan.__tablename__} ({', '.join(SCAN_COLUMNS)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    session.execute(insert(Scan), [dict(zip(SCAN_COLUMNS, row, strict=True)) for row in rows])


class ScanLog:
    """One per runtime (``scan_log_for``): records scans, answers live counters, flushes batches."""

    def __init__(
        self, store: Store, *, ttl_days: int = 400, dedupe_seconds: int = 600, flush_batch: int = 500
    ) -> None:
        self.memory = MemoryBackend()
        self.store = store
        self.store_prefix = store.prefix
        self.redis_backend = RedisBackend(RedisScans(store)) if store.backend == "redis" else None
        self.ttl = ttl_days * 86400
        self.dedupe = dedupe_seconds
        self.flush_batch = flush_batch
        self.degraded_count = 0
        self._warned = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The Redis backend, or the in-process one while Redis is unreachable (logged once per outage)."""
        if self.redis_backend is not None:
            try:
                result = self.store.attempt(getattr(self.redis_backend, name), *args, **kwargs)
                self._warned = False
                return result
            except Unavailable as exc:  # the breaker is open or the call failed: never wait on Redis
                self.degraded_count += 1
                if exc.__cause__ is not None and not self._warned:
                    self._warned = True
                    log.warning(
                        "scan counters: redis unavailable, counting in-process",
                        extra={"error": repr(exc.__cause__)},
                    )
        return getattr(self.memory, name)(*args, **kwargs)

    def record(self, event: ScanEvent, stored: Totals | None) -> Recorded:
        """Count one scan (one round trip). ``stored``: the stamp's database totals, read with the
        stamp (services.stamp_status.load_stamp); the first time a store sees a stamp with totals
        they are added to its live counters (one more trip, after a Redis data loss only)."""
        has_totals = stored is not None
        rec: Recorded = self._call("record", event, ttl=self.ttl, dedupe=self.dedupe, stored=has_totals)
        if not rec.seeded and stored is not None:
            self._call("seed", event.serial, stored)
            stats = self._call("live", event.serial) or rec.stats
            rec = Recorded(rec.counted, stats, True, rec.queued, rec.dedupe_ms)
        if rec.queued >= self.flush_batch:
            self._wake.set()
        return rec

    def stats(self, session: Session, serial: int) -> ScanStats:
        """Counters without counting a scan (the JSON API): the live ones, else the database's."""
        live = self._call("live", serial)
        row = session.get(ScanCounter, serials.to_db(serial))
        if live is None and row is None:
            return ScanStats()
        if live is None:
            assert row is not None
            return ScanStats(row.scans, row.first_at, row.last_at, row.clients, row.provinces)
        if row is not None and row.scans > live.scans:  # a store that lost its data and was not re-seeded
            return ScanStats(row.scans, row.first_at, row.last_at, row.clients, row.provinces)
        return live

    # -- persistence ------------------------------------------------------------------------------
    def flush(
        self, session_factory: sessionmaker[Session], *, max_batches: int = 1000, drain: bool = True
    ) -> int:
        """Move queued scans into the database; returns how many. One flusher at a time (store lock).

        ``drain=False`` (the background thread) stops after a batch that was not full instead of
        chasing the few scans that arrived meanwhile in tiny batches (each costs a transaction).
        """
        done = self._flush_counted_in_process(session_factory)
        if not self._call("lock", 120):
            return done
        try:
            for _ in range(max_batches):
                batch = self._call("peek", self.flush_batch)
                if not batch:
                    break
                self._write(session_factory, batch)
                self._call("trim", len(batch))
                done += len(batch)
                if not drain and len(batch) < self.flush_batch:
                    break
        finally:
            self._call("unlock")
        return done

    def _flush_counted_in_process(self, session_factory: sessionmaker[Session]) -> int:
        """Scans this process counted in-process while Redis was unreachable (with Redis configured):
        written like the others once a flush runs, so an outage loses no scan record."""
        if self.redis_backend is None or not self.memory.peek(1) or not self.memory.lock(120):
            return 0
        done = 0
        try:
            while batch := self.memory.peek(self.flush_batch):
                self._write(session_factory, batch)
                self.memory.trim(len(batch))
                done += len(batch)
        finally:
            self.memory.unlock()
        return done

    def _write(self, session_factory: sessionmaker[Session], batch: list[tuple[bool, ScanEvent]]) -> None:
        """One batch: the scan rows (``COPY``) and the per-stamp totals, as Core statements (one
        SELECT, one executemany INSERT for new stamps, one UPDATE for known ones). The flusher runs
        in every serving worker and shares its GIL with the requests: building an ORM object per
        stamp cost a twentieth of a worker's Python time under first scans (py-spy, docs)."""
        counters: Table = ScanCounter.__table__  # type: ignore[assignment]
        with session_factory() as session:
            _insert_scans(session, batch)
            by_serial: dict[int, list[tuple[bool, ScanEvent]]] = {}
            for counted, e in batch:
                by_serial.setdefault(e.serial, []).append((counted, e))
            rows = {
                r.serial: r
                for r in session.execute(
                    select(counters).where(counters.c.serial.in_([serials.to_db(s) for s in by_serial]))
                )
            }
            lives = dict(zip(by_serial, self._call("live_many", list(by_serial)), strict=True))
            new: list[dict[str, Any]] = []
            known: list[dict[str, Any]] = []
            for serial, events in by_serial.items():
                key = serials.to_db(serial)
                row = rows.get(key)
                at = events[0][1].at
                scans, first_at, last_at, clients, provinces = (
                    (row.scans, row.first_at, row.last_at, row.clients, row.provinces)
                    if row
                    else (0, at, at, 0, 0)
                )
                live = lives[serial]
                counted_here = sum(1 for c, _ in events if c)
                values: dict[str, Any] = {
                    "scans": max(scans + counted_here if live is None else live.scans, scans),
                    "first_at": min([first_at, *(e.at for _, e in events)]),
                    "last_at": max([last_at, *(e.at for _, e in events)]),
                }
                if live is not None:
                    values["clients"] = max(clients, live.clients)
                    values["provinces"] = max(provinces, live.provinces)
                else:
                    values["clients"] = max(clients, len({e.client for _, e in events}))
                    values["provinces"] = max(provinces, len({e.province for _, e in events if e.province}))
                if row is None:
                    new.append({"serial": key, **values})
                else:
                    known.append({"key": key, **values})
            if new:
                session.execute(insert(counters), new)
            if known:
                session.execute(update(counters).where(counters.c.serial == bindparam("key")), known)
            session.commit()

    def wake(self) -> None:
        """Ask the background flusher to run now (a full batch is waiting)."""
        self._wake.set()

    # -- background flusher -----------------------------------------------------------------------
    def start_flusher(self, session_factory: sessionmaker[Session], period: float) -> None:
        """A daemon thread per process (started on first use, so after gunicorn forks)."""
        if self._thread is not None or period <= 0:
            return

        def run() -> None:
            while True:
                self._wake.wait(period)
                self._wake.clear()
                try:
                    self.flush(session_factory, drain=False)
                except Exception:  # keep flushing later; the events stay queued
                    log.exception("scan flush failed")

        self._thread = threading.Thread(target=run, name="scan-flusher", daemon=True)
        self._thread.start()


def scan_log_for(runtime: Any) -> ScanLog:
    log_ = runtime.services.get("scan_log")
    if log_ is None:
        from stamp_service.services.verify_config import VerifyConfig

        config: VerifyConfig = runtime.services.get("verify_config") or VerifyConfig.load(runtime.settings)
        log_ = runtime.services.setdefault(
            "scan_log",
            ScanLog(
                runtime.store,
                ttl_days=config.scan_ttl_days,
                dedupe_seconds=config.scan_dedupe_seconds,
                flush_batch=config.scan_flush_batch,
            ),
        )
    return log_  # type: ignore[no-any-return]
