"""A raw per-thread Redis connection for the one command every page scan sends (services.scan_gate).

Measured on the two-core host, redis-py spends ~130 µs of CPU around one EVALSHA
(pool checkout with a ``poll`` on the socket, retry and deprecation wrappers,
response callbacks); the same call over a plain socket parsed by hiredis costs
~20 µs. That difference is a tenth of the page's cost, so the gate uses this link.

Only plain TCP connections are handled (host, port, db, user/password, timeouts
taken from the store's redis-py pool). TLS or Unix sockets, a missing hiredis,
or any socket error make ``call`` raise ``Unavailable``: the caller then uses
redis-py, which reconnects, retries and reports outages as before.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a dependency; redis-py alone still works
    hiredis = None  # type: ignore[assignment]


class Unavailable(Exception):
    """This link cannot serve the call; use redis-py."""


class _NeverRaised(Exception):
    pass


# An error reply from Redis (e.g. NOSCRIPT); hiredis returns these, ``call`` raises them.
ReplyError: type[Exception] = hiredis.ReplyError if hiredis is not None else _NeverRaised


Link = tuple[socket.socket, Any]  # a socket and its hiredis reader


@dataclass(frozen=True)
class PlainTarget:
    """How to open a plain TCP connection to the Redis a redis-py client uses."""

    address: tuple[str, int]
    timeout: float | None
    connect_timeout: float | None
    db: int
    username: str | None
    password: str | None

    @classmethod
    def of(cls, redis_client: Any) -> PlainTarget | None:
        """None when a plain socket cannot stand in: TLS, a Unix socket, or no hiredis."""
        pool = redis_client.connection_pool
        kw = pool.connection_kwargs
        if hiredis is None or pool.connection_class.__name__ != "Connection" or "path" in kw:
            return None
        return cls(
            address=(kw.get("host", "localhost"), int(kw.get("port", 6379))),
            timeout=kw.get("socket_timeout"),
            connect_timeout=kw.get("socket_connect_timeout") or kw.get("socket_timeout"),
            db=int(kw.get("db") or 0),
            username=kw.get("username"),
            password=kw.get("password"),
        )

    def open(self) -> Link:
        """A connected, authenticated socket on the right database (errors: OSError, HiredisError)."""
        sock = socket.create_connection(self.address, timeout=self.connect_timeout)
        link = (sock, hiredis.Reader())
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.timeout)
            if self.password:
                auth = ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
                roundtrip(link, auth)
            if self.db:
                roundtrip(link, ("SELECT", self.db))
        except (OSError, hiredis.HiredisError):
            sock.close()
            raise
        return link


def roundtrip(link: Link, command: tuple[Any, ...]) -> Any:
    """Send one command and return its reply; an error reply raises ``hiredis.ReplyError``."""
    link[0].sendall(hiredis.pack_command(command))
    return read_reply(link)


def read_reply(link: Link) -> Any:
    """The next reply on ``link``, reading the socket as needed."""
    sock, reader = link
    while True:
        reply = reader.gets()
        if reply is not False:
            if isinstance(reply, hiredis.ReplyError):
                raise reply
            return reply
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("redis closed the connection")
        reader.feed(data)


class FastLink:
    """One socket per thread (and per process: a forked worker never reuses its parent's)."""

    def __init__(self, redis_client: Any) -> None:
        self.target = PlainTarget.of(redis_client)
        self.supported = self.target is not None
        self._local = threading.local()

    def _connect(self) -> Link:
        assert self.target is not None
        return self.target.open()

    def _link(self) -> tuple[socket.socket, Any]:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.link, local.pid = self._connect(), os.getpid()
        return local.link  # type: ignore[no-any-return]

    def _drop(self) -> None:
        link = getattr(self._local, "link", None)
        self._local.pid = None
        if link is not None:
            link[0].close()

    def call(self, *command: Any) -> Any:
        """Send one command, return its reply; error replies raise ``hiredis.ReplyError``."""
        if not self.supported:
            raise Unavailable
        try:
            link = self._link()
        except (OSError, hiredis.HiredisError) as exc:  # unreachable, or AUTH/SELECT refused
            raise Unavailable from exc
        try:
            return roundtrip(link, command)
        except hiredis.ReplyError:
            raise
        except (OSError, hiredis.ProtocolError) as exc:  # socket errors, timeouts, a broken stream
            self._drop()
            raise Unavailable from exc
