"""Operations routes: liveness, readiness, request ids and access logs."""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

from flask import Blueprint, Flask, Response, g, json, request
from sqlalchemy import text

from stamp_service.web import metrics
from stamp_service.web.context import runtime
from stamp_service.web.errors import check_request_target

bp = Blueprint("ops", __name__)
access_log = logging.getLogger("stamp_service.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
_DATA_TYPES = {"application/json", "application/problem+json", "text/csv", "application/octet-stream"}


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive (no dependency checked)."""
    return Response('{"status":"ok"}', mimetype="application/json")


@bp.get("/readyz")
def readyz() -> Response:
    """The database (and Redis, when configured) answer: the instance may take traffic."""
    rt = runtime()
    checks: dict[str, str] = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        logging.getLogger(__name__).warning("database not ready", extra={"error": type(exc).__name__})
        checks["database"] = "unavailable"
    if rt.settings.redis_url:
        checks["redis"] = "ok" if rt.store.ping() else "unavailable"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not-ready", "checks": checks}
    return Response(json.dumps(body), status=200 if ready else 503, mimetype="application/json")


class _RequestIds:
    """Request ids without a system call: a random per-process prefix and a counter.

    ``uuid4`` reads the OS generator on every request, which releases the GIL and costs
    a thread switch on a busy worker; ids only need to be unique, not secret."""

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():  # a forked worker must not repeat its parent's ids
            self._pid, self._prefix = os.getpid(), secrets.token_hex(8)
        return f"{self._prefix}{next(self._counter):016x}"  # 32 hex digits, as uuid4().hex was


_ids = _RequestIds()


def request_id_for(incoming: str) -> str:
    """The caller's X-Request-ID when it is well-formed, else a new one."""
    return incoming if incoming and _REQUEST_ID.fullmatch(incoming) else _ids.next()


def finished(
    method: str,
    route: str,
    status: int,
    started: float,
    *,
    logged: bool = True,
    request_id: str | None = None,
) -> None:
    """Count a finished request in the metrics and write its access line. ``request_id`` is
    given when there is no Flask request context to take it from."""
    seconds = time.perf_counter() - started
    metrics.observe(route, status, seconds)
    if logged and access_log.isEnabledFor(logging.INFO):
        extra = {"method": method, "path": route, "status": status, "ms": round(seconds * 1000, 2)}
        if request_id is not None:
            extra["request_id"] = request_id
        access_log.info("request", extra=extra)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start() -> None:
        g.request_id = request_id_for(request.headers.get("X-Request-ID", ""))
        g.started = time.perf_counter()
        check_request_target()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        # Baseline security headers for every response; pages that need more set their own CSP.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype in _DATA_TYPES:
            response.headers.setdefault("Content-Security-Policy", _DATA_CSP)
        if "started" in g:
            route = request.url_rule.rule if request.url_rule else "(unmatched)"
            logged = not request.path.startswith(("/healthz", "/static/"))
            finished(request.method, route, response.status_code, g.started, logged=logged)
        return response
