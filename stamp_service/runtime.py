"""The process-wide resources one app (or one CLI run) works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from stamp_service.cache import Store
from stamp_service.config import Settings
from stamp_service.rate_limit import RateLimiter
from stamp_service.storage.db import make_engine, make_session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    store: Store
    # Sign-in throttling (and, in time, the service's other limits): Redis when configured.
    limiter: RateLimiter = field(default_factory=RateLimiter)
    # Feature modules keep their own long-lived objects here (key ring, job queue...).
    services: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        store = Store(settings.redis_url)
        factory = make_session_factory(engine)
        factory.configure(info={"store": store})
        from stamp_service.services.status_events import watch_store

        watch_store(store)
        return cls(
            settings=settings,
            engine=engine,
            session_factory=factory,
            store=store,
            limiter=RateLimiter(settings.redis_url),
        )

    def close(self) -> None:
        """Stop what feature modules started (``services["closers"]``) and close the pool."""
        for stop in self.services.pop("closers", []):
            stop()
        self.engine.dispose()
