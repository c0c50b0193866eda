"""This process's copy of the status generation, pushed by Redis instead of read per request.

Every bump of the shared generation (``status_events.bump_shared``) is an ``INCR`` and a
``PUBLISH`` of the new value in one Lua call. A daemon thread per process holds a plain socket
subscribed to that channel and stores each published value in ``value``. The page's repeat-scan
path (services.repeat_scans) trusts ``current()`` instead of asking Redis, so a repeat scan
needs no round trip.

Why a revocation is still seen "at once": Redis writes the replies and messages of one event-loop
pass to their sockets before it reads the next commands, and the publisher sends a ``PING`` after
its ``PUBLISH`` and waits for it (``Store.incr_publish``), so when the bump returns the message
has been written to every subscriber; on one host the kernel puts those bytes in our socket at
once. ``current()`` returns None (use the round trip) while the socket has unread
bytes *or* the thread is between reading and applying them (it holds ``_applying``), so no
request can act on a generation older than a bump whose PUBLISH has returned. Across hosts
the window is the network's delivery time.

The copy is trusted only while the subscription is up: before the first subscription, after a
socket error, and until the re-subscription has re-read the value, ``current()`` is None. Every
``RECHECK_SECONDS`` the thread also reads the key directly, so a bump by something that did not
publish (an older release during an upgrade) is picked up within that time; when those reads stop
succeeding for ``STALE_SECONDS`` (a stalled Redis, a dead thread) the copy is not trusted either.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from typing import Any

from stamp_service.cache import Store
from stamp_service.services.fast_redis import PlainTarget, roundtrip
from stamp_service.services.status_events import GENERATION_CHANNEL, GENERATION_KEY

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
STALE_SECONDS = 2.5  # no successful re-read for this long: the copy is not trusted
RETRY_SECONDS = 0.5
_STARTING = threading.Lock()


class GenerationWatcher:
    """One per runtime and process (a forked gunicorn worker starts its own on first use)."""

    def __init__(self, store: Store) -> None:
        redis_client = store.redis
        self.target = PlainTarget.of(redis_client)  # the same plain socket as the page's fast link
        self.supported = self.target is not None
        self.channel = store.channel(GENERATION_CHANNEL).encode()
        self.key = store.prefix + GENERATION_KEY
        self.redis = redis_client
        self._value: int | None = None
        self._sock: socket.socket | None = None
        self._pending_sock: socket.socket | None = None
        self._checked_at = 0.0  # time.monotonic() of the last successful read of the key
        self._local = threading.local()
        self._applying = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()
        self.subscriptions = 0  # how many times a subscription came up (tests, metrics)

    @property
    def connection_name(self) -> str:
        return f"ocop-generation-watch-{os.getpid()}-{id(self):x}"

    # -- the request side ---------------------------------------------------------------------
    def current(self) -> int | None:
        """The generation, or None when this copy cannot be trusted right now.

        The checks come first and the value is read last, then the checks are confirmed: a
        message applied between them either shows in the value or fails the confirmation."""
        if self._pid != os.getpid():
            self.start()
            return None
        sock, subscription = self._sock, self.subscriptions
        if sock is None or self._applying.locked():
            return None
        if time.monotonic() - self._checked_at > STALE_SECONDS:  # the thread stopped re-reading
            return None
        try:
            if self._poller(sock, subscription).poll(0):  # a message (or a close) waits to be applied
                return None
        except (OSError, ValueError, RuntimeError):
            return None
        value = self._value
        if self._applying.locked() or self._sock is not sock or self.subscriptions != subscription:
            return None
        return value

    def _poller(self, sock: socket.socket, subscription: int) -> Any:
        """This thread's poll object on the current subscription (one poll object must not be
        used by two threads at once: CPython raises "concurrent poll() invocation")."""
        local = self._local
        if getattr(local, "subscription", None) != subscription:
            poll = select.poll()
            poll.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            local.poll, local.subscription = poll, subscription
        return local.poll

    # -- the thread -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start this process's thread (once; a forked child starts its own, nothing inherited)."""
        if not self.supported or self._pid == os.getpid():
            return
        with _STARTING:
            if self._pid == os.getpid():
                return
            self._value, self._sock, self._checked_at = None, None, 0.0
            self._applying = threading.Lock()  # never inherit a lock held in the parent at fork time
            self._local = threading.local()
            self._pid = os.getpid()  # last: until now other threads see "not started here"
            threading.Thread(target=self._run, name="generation-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._drop()

    def _run(self) -> None:
        reported = False
        while not self._stop.is_set():
            try:
                self._subscribe()
                reported = False
                self._listen()
            except Exception as exc:  # any failure (socket, redis-py, a LOADING reply): drop and retry
                if not reported and not self._stop.is_set():
                    log.warning("status generation watch lost; pages ask Redis", extra={"error": repr(exc)})
                    reported = True
            finally:
                self._drop()
            self._stop.wait(RETRY_SECONDS)

    def _subscribe(self) -> None:
        assert self.target is not None
        link = self.target.open()
        sock, self._reader = link
        self._pending_sock = sock  # closed by _drop if anything below fails
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        roundtrip(link, ("CLIENT", "SETNAME", self.connection_name))  # findable in CLIENT LIST
        roundtrip(link, ("SUBSCRIBE", self.channel))  # confirmed: from here no publish is missed
        with self._applying:
            self._value = self._read_key()  # read after subscribing, so nothing falls between
            self._checked_at = time.monotonic()
            self.subscriptions += 1  # before the socket is published: no poller of an old one is reused
            self._sock = sock
            self._pending_sock = None

    def _read_key(self) -> int:
        raw = self.redis.get(self.key)
        return int(raw) if raw is not None else 0

    def _listen(self) -> None:
        assert self._sock is not None
        sock, reader = self._sock, self._reader
        sock.settimeout(None)
        waiter = select.poll()
        waiter.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        next_check = time.monotonic() + RECHECK_SECONDS
        while not self._stop.is_set():
            ready = waiter.poll(max(0.0, next_check - time.monotonic()) * 1000)
            if ready:
                with self._applying:
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionError("redis closed the subscription")
                    reader.feed(data)
                    while (message := reader.gets()) is not False:
                        self._apply(message)
            if time.monotonic() >= next_check:
                # A bump that was not published (an older release): at most this late.
                value = self._read_key()  # outside the lock: a slow Redis must not stall requests
                with self._applying:
                    self._value = max(self._value or 0, value)
                    self._checked_at = time.monotonic()
                next_check = time.monotonic() + RECHECK_SECONDS

    def _apply(self, message: Any) -> None:
        if isinstance(message, list) and len(message) == 3 and message[0] == b"message":
            try:
                value = int(message[2])
            except ValueError:
                return
            self._value = max(self._value or 0, value)

    def _drop(self) -> None:
        with self._applying:
            self._value = None
            sock, self._sock = self._sock, None
            pending, self._pending_sock = self._pending_sock, None
        for each in (sock, pending):
            if each is not None:
                each.close()
