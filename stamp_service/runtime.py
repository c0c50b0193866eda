"""The process-wide resources one app (or one CLI run) works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from stamp_service.adapters.redis import RateLimiter, Store
from stamp_service.config import Settings
from stamp_service.storage.db import make_engine, make_session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    store: Store
    # The one rate limiter (sign-in, the public routes): Redis when configured, through the store.
    limiter: RateLimiter = field(default_factory=RateLimiter)
    # Feature modules keep their own long-lived objects here (key ring, job queue...).
    services: dict[str, Any] = field(default_factory=dict)
    # Reads of the public page in autocommit mode: one round trip per query (no BEGIN, no ROLLBACK,
    # no pre-ping). None (SQLite, tests): the ordinary sessions.
    read_session_factory: sessionmaker[Session] | None = None
    # DATABASE_READ_URL: the replica, autocommit, for the stamp-row lookup of verification only
    # (services/stamp_rows.py). None: the primary.
    replica_session_factory: sessionmaker[Session] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        store = Store(settings.redis_url)
        factory = make_session_factory(engine)
        factory.configure(info={"store": store})
        reads = None
        if not settings.is_embedded and not settings.testing:
            read_engine = make_engine(
                settings.database_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False
            )
            reads = make_session_factory(read_engine)
            reads.configure(info={"store": store, "autocommit_reads": True})  # stamp_status.load_stamp
        replica = None
        if settings.database_read_url:
            replica_engine = make_engine(
                settings.database_read_url,
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=False,  # a dropped connection fails once; the primary answers then
                # A replica that is down or hangs must not hold the page: 2 s, then the primary answers
                # (and services.stamp_rows' breaker skips it for a while). statement_timeout is the
                # server's; tcp_user_timeout and keepalives end a silent connection on this side.
                connect_args={
                    "connect_timeout": 2,
                    "options": "-c statement_timeout=2000",
                    "tcp_user_timeout": 2000,
                    "keepalives": 1,
                    "keepalives_idle": 10,
                    "keepalives_interval": 2,
                    "keepalives_count": 2,
                },
            )
            replica = make_session_factory(replica_engine)
        return cls(
            settings=settings,
            engine=engine,
            session_factory=factory,
            store=store,
            limiter=RateLimiter(store),
            read_session_factory=reads,
            replica_session_factory=replica,
        )

    def close(self) -> None:
        """Stop what feature modules started (``services["closers"]``) and close the pool."""
        for stop in self.services.pop("closers", []):
            stop()
        self.engine.dispose()
        for factory in (self.read_session_factory, self.replica_session_factory):
            bind = factory.kw.get("bind") if factory is not None else None
            if bind is not None:
                bind.dispose()
