"""Engine and session factory; nothing is created at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from stamp_service.files import private_file

# SQLite: how long a write waits for the one writer lock before the database says "busy" (the web
# answers 503 then). Long enough for any single transaction of the service, short enough to answer.
SQLITE_BUSY_SECONDS = 10.0

# Does the current unit of work intend to write? On SQLite a transaction that has read and then
# writes fails at once ("database is locked", the busy timeout is not applied) when another
# writer committed since its read; ``BEGIN IMMEDIATE`` takes the writer lock first and waits its
# turn instead. Reads keep plain ``BEGIN`` so they never queue behind writers (WAL).
_writes: ContextVar[bool] = ContextVar("ocop_sqlite_writes", default=False)


def set_write_intent(writes: bool) -> None:
    """Mark the current context (one web request, one thread) as writing or only reading."""
    _writes.set(writes)


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside take SQLite's writer lock first (no effect on PostgreSQL)."""
    token = _writes.set(True)
    try:
        yield
    finally:
        _writes.reset(token)


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """Create the engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_file(Path(path))  # SQLite would create it world-readable (its WAL files follow it)
        engine = create_engine(
            database_url, connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, emit BEGIN, so savepoints and
            # transactional DDL work (SQLAlchemy's documented pysqlite recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes.get() else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)  # recover after a database restart
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(database_url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def committed_since_start(session: Session) -> bool:
    """Has ``session`` committed anything yet? (An error after a commit must not say "nothing changed".)"""
    return bool(session.info.get("committed"))


@event.listens_for(Session, "after_commit")
def _remember_commit(session: Session) -> None:
    session.info["committed"] = True


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"
