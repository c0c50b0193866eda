"""Per-request access to the runtime and to one database session."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from stamp_service.runtime import Runtime
from stamp_service.storage.db import set_write_intent

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    @app.before_request
    def _declare_writes() -> None:
        # Set for every request: gunicorn's threads serve one request after another.
        set_write_intent(request.method not in SAFE_METHODS)

    @app.teardown_request
    def _forget_writes(_exc: BaseException | None) -> None:
        set_write_intent(False)  # the thread's next work (a stream, a test) only reads by default

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        reads = g.pop("read_session", None)
        if reads is not None:
            reads.close()
        session = g.pop("db_session", None)
        if session is None:
            return
        try:
            session.rollback()
            session.close()
        except Exception as exc:  # a connection the database dropped: the answer is already made
            log.warning("closing the request's session failed", extra={"error": repr(exc)})
            session.invalidate()
