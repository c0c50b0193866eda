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
            reads.configure(info={"store": store})
        return cls(
            settings=settings,
            engine=engine,
            session_factory=factory,
            store=store,
            limiter=RateLimiter(store),
            read_session_factory=reads,
        )

    def close(self) -> None:
        """Stop what feature modules started (``services["closers"]``) and close the pool."""
        for stop in self.services.pop("closers", []):
            stop()
        self.engine.dispose()
        if self.read_session_factory is not None:
            bind = self.read_session_factory.kw.get("bind")
            if bind is not None:
                bind.dispose()
