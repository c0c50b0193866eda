"""Operations routes: liveness, readiness, request ids and access logs."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Blueprint, Flask, Response, g, json, request
from sqlalchemy import text

from stamp_service.web import metrics
from stamp_service.web.context import runtime

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


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

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
            metrics.observe(route, response.status_code, time.perf_counter() - g.started)
        if "started" in g and not request.path.startswith(("/healthz", "/static/")):
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.url_rule.rule if request.url_rule else "(unmatched)",
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - g.started) * 1000, 2),
                },
            )
        return response
