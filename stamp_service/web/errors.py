"""The one place that maps errors to HTTP: problem+json (RFC 9457) for APIs, a short page for people.

Problem ``type`` values are stable relative URIs, ``/problems/<kind>``,
documented in docs/api.md. Unexpected exceptions are logged with the request
id and answered with a 500 problem that reveals nothing of the internals.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from flask import Flask, Response, g, json, render_template_string, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestURITooLarge

from stamp_service.errors import ServiceError, Unauthenticated

log = logging.getLogger(__name__)

_HTML_CSS = "body{font:16px system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
_HTML = (
    """<!doctype html><html lang="vi"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ status }}</title>
<style>"""
    + _HTML_CSS
    + """</style>
<body><h1>{{ title }}</h1><p>{{ detail }}</p><p><a href="/">Trang chủ / Home</a></p></body></html>"""
)
# The error page runs no script and loads nothing: only its own inline style may apply.
HTML_CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_HTML_CSS.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Paths whose every answer is for programs (the OpenAPI document promises problem+json there).
_API_PREFIXES = ("/api/", "/.well-known/", "/media/")

_HTTP_KINDS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    429: "rate-limited",
}


def wants_json() -> bool:
    path = request.path
    if path.startswith(_API_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in ("application/json", "application/problem+json")


def problem_response(status: int, kind: str, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": f"/problems/{kind}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    if "request_id" in g:
        body["request_id"] = g.request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if not wants_json():
        html = render_template_string(_HTML, status=status, title=title, detail=detail or "")
        headers["Content-Security-Policy"] = HTML_CSP
        return Response(html, status=status, mimetype="text/html", headers=headers)
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/problem+json",
        headers=headers,
    )


# The longest request target the app reads (path and query string). No URL of this API comes
# near it (a stamp URL is 171 characters); above it the answer is a 414 problem. gunicorn is run
# with limit_request_line = GUNICORN_REQUEST_LINE (its maximum) so that its own HTML 414 only
# meets request lines the reverse proxy already refuses (docs/operations.md).
MAX_REQUEST_TARGET = 4096
GUNICORN_REQUEST_LINE = 8190


def check_request_target() -> None:
    """Raise a 414 for a path and query longer than MAX_REQUEST_TARGET (web.ops calls it first
    thing after giving the request its id, so the problem carries it)."""
    if len(request.full_path) > MAX_REQUEST_TARGET:
        raise RequestURITooLarge(f"a request target has at most {MAX_REQUEST_TARGET} characters")


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        if exc.status >= 500:
            # Server-side trouble (missing key file, bad configuration): the detail may name
            # paths on this host, so it goes to the log, not to the client.
            log.error("service unavailable", extra={"kind": exc.kind, "detail": exc.detail})
            return problem_response(exc.status, exc.kind, exc.title, "The problem was logged.")
        response = problem_response(exc.status, exc.kind, exc.title, exc.detail, **exc.extra)
        if isinstance(exc, Unauthenticated):
            # RFC 9110 §11.6.1: a 401 names the scheme that would succeed (RFC 6750 for bearer tokens).
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        kind = _HTTP_KINDS.get(status, f"http-{status}")
        response = problem_response(status, kind, exc.name, exc.description)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(OperationalError)
    def _database_unavailable(exc: OperationalError) -> Response:
        # A locked SQLite file (two writers at once) or a PostgreSQL restart: nothing was
        # written (the transaction rolled back), so the client may simply retry.
        log.warning("database unavailable", extra={"error": type(exc.orig).__name__, "path": request.path})
        return problem_response(
            503,
            "database-busy",
            "The database is busy or restarting",
            "Nothing was changed; retry in a moment.",
            retry_after=2,
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.path})
        return problem_response(500, "internal-error", "Internal error", "The error was logged.")
