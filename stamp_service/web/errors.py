"""The one place that maps errors to HTTP: problem+json (RFC 9457) for APIs, a short page for people.

Problem ``type`` values are stable relative URIs, ``/problems/<kind>``,
documented in docs/api.md. Unexpected exceptions are logged with the request
id and answered with a 500 problem that reveals nothing of the internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, json, render_template_string, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from stamp_service.errors import ServiceError

log = logging.getLogger(__name__)

_HTML = """<!doctype html><html lang="vi"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ status }}</title>
<body style="font:16px system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem">
<h1>{{ title }}</h1><p>{{ detail }}</p><p><a href="/">Trang chủ / Home</a></p></body></html>"""

_HTTP_KINDS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


# Page families with their own error pages (people's pages): path prefixes and a renderer.
_PAGE_RENDERERS: list[tuple[tuple[str, ...], Callable[[int, str, str], Response]]] = []


def register_page_renderer(prefixes: tuple[str, ...], render: Callable[[int, str, str], Response]) -> None:
    if (prefixes, render) not in _PAGE_RENDERERS:  # one per process, however many apps are built
        _PAGE_RENDERERS.append((prefixes, render))


def wants_json() -> bool:
    path = request.path
    if path.startswith(("/api/", "/.well-known/")):
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
        for prefixes, render in _PAGE_RENDERERS:
            if request.path.startswith(prefixes):
                page = render(status, title, detail or "")
                page.headers.update(headers)
                return page
        html = render_template_string(_HTML, status=status, title=title, detail=detail or "")
        return Response(html, status=status, mimetype="text/html", headers=headers)
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/problem+json",
        headers=headers,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        if exc.status >= 500:
            # Server-side trouble (missing key file, bad configuration): the detail may name
            # paths on this host, so it goes to the log, not to the client.
            log.error("service unavailable", extra={"kind": exc.kind, "detail": exc.detail})
            return problem_response(exc.status, exc.kind, exc.title, "The problem was logged.")
        return problem_response(exc.status, exc.kind, exc.title, exc.detail, **exc.extra)

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
