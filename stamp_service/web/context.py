"""Per-request access to the runtime and to one database session."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from stamp_service.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ocop"]  # type: ignore[no-any-return]


def db() -> Session:
    """The request's session; services commit it, teardown rolls back whatever was not."""
    if "db_session" not in g:
        g.db_session = runtime().session_factory()
    return g.db_session  # type: ignore[no-any-return]


def read_db() -> Session:
    """The request's read-only session (autocommit on PostgreSQL: a query is one round trip).

    For pages that never write (the verification page); anything that writes uses ``db()``."""
    reads = runtime().read_session_factory
    if reads is None:
        return db()
    if "read_session" not in g:
        g.read_session = reads()
    return g.read_session  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
        reads = g.pop("read_session", None)
        if reads is not None:
            reads.close()
