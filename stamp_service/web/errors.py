"""The one place that maps errors to HTTP: problem+json (RFC 9457) for APIs, a short page for people.

Problem ``type`` values are stable relative URIs, ``/problems/<kind>``,
documented in docs/api.md. Unexpected exceptions are logged with the request
id and answered with a 500 problem that reveals nothing of the internals.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, json, render_template_string, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestURITooLarge

from stamp_service.errors import ServiceError
from stamp_service.storage.db import committed_since_start

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


# Page families with their own error pages (people's pages): path prefixes and a renderer.
_PAGE_RENDERERS: list[tuple[tuple[str, ...], Callable[[int, str, str], Response]]] = []


def register_page_renderer(prefixes: tuple[str, ...], render: Callable[[int, str, str], Response]) -> None:
    if (prefixes, render) not in _PAGE_RENDERERS:  # one per process, however many apps are built
        _PAGE_RENDERERS.append((prefixes, render))


def wants_json() -> bool:
    path = request.path
    if path.startswith(_API_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in ("application/json", "application/problem+json")


# Pydantic's message for each error type, worded once for the catalogue (English is pydantic's own).
FIELD_MESSAGES = {
    "missing": "Field required",
    "extra_forbidden": "Extra inputs are not permitted",
    "string_type": "Input should be a valid string",
    "string_too_short": "String should have at least {min_length} characters",
    "string_too_long": "String should have at most {max_length} characters",
    "string_pattern_mismatch": "String should match pattern '{pattern}'",
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "float_type": "Input should be a valid number",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "greater_than": "Input should be greater than {gt}",
    "greater_than_equal": "Input should be greater than or equal to {ge}",
    "less_than": "Input should be less than {lt}",
    "less_than_equal": "Input should be less than or equal to {le}",
    "enum": "Input should be {expected}",
    "literal_error": "Input should be {expected}",
    "date_type": "Input should be a valid date",
    "date_from_datetime_parsing": "Input should be a valid date or datetime, {error}",
    "date_parsing": "Input should be a valid date in the format YYYY-MM-DD, {error}",
    "datetime_type": "Input should be a valid datetime",
    "datetime_parsing": "Input should be a valid datetime, {error}",
    "datetime_from_date_parsing": "Input should be a valid datetime or date, {error}",
    "timezone_aware": "Input should have timezone info",
    "list_type": "Input should be a valid list",
    "model_type": "Input should be a valid dictionary or instance of {class_name}",
    "dict_type": "Input should be a valid dictionary",
    "too_short": "List should have at least {min_length} items after validation, not {actual_length}",
    "too_long": "List should have at most {max_length} items after validation, not {actual_length}",
    "value_error": "{error}",
    "assertion_error": "{error}",
}


# Details and field messages of the services that have a Vietnamese wording in the catalogue (each
# is checked to still occur in the code, so a reworded message cannot leave a stale entry).
TRANSLATED_DETAILS = (
    "no auto-approval policy for this producer",
    "no auto-approval policy for this producer: every request waits for the office",
    "no image for this product",
    "no proposal was made from this finding",
    "no stamp with this serial",
    "no such account",
    "no such certificate",
    "no such finding",
    "no such lot",
    "no such producer",
    "no such product",
    "no such report",
    "no such stamp request",
    "no such stamp",
    "no such token",
    "inspectors have read-only access",
    "only central-level accounts may do this",
    "a decision cannot be signed in the future",
    "before the signing date of the certificate it supersedes",
    "before the signing date of the current certificate",
    "must be digits",
    "must not be in the future",
    "must not be after the production date",
    "no earlier event with this seq",
    "not a product category or group of the reference list",
    "observed_at is in the future",
    "the commune is outside your province",
    "unknown commune, ward or special zone code",
    "unknown province",
    "unknown province code",
    "withdrawing stars needs the withdrawal decision",
    "registration_number is required except for a cooperative group (THT)",
    "give the serial, the scanned code, or both",
)


def problem_msgids() -> set[str]:
    """Every message id the problem details use (the catalogue test checks each is translated)."""
    from stamp_service.errors import ServiceError

    def titles(cls: type[ServiceError]) -> set[str]:
        return {cls.title}.union(*(titles(sub) for sub in cls.__subclasses__()))

    return titles(ServiceError) | set(FIELD_MESSAGES.values()) - {"{error}"} | set(TRANSLATED_DETAILS)


def problem_language() -> str:
    """``vi`` when the caller asks for Vietnamese (``Accept-Language: vi``), else English."""
    for tag, _quality in request.accept_languages:  # most preferred first
        primary = tag.split("-")[0].split("_")[0].lower()
        if primary in ("vi", "en"):
            return primary
    return "en"


def _field_message(error: dict[str, Any], gettext: Any) -> str:
    template = FIELD_MESSAGES.get(str(error.get("_type")))
    ctx = error.get("_ctx") or {}
    if template is not None:
        try:
            return str(gettext(template)).format(**{k: gettext(str(v)) for k, v in ctx.items()})
        except (KeyError, IndexError):
            pass
    return str(gettext(str(error.get("message", ""))))


def localized(
    lang: str, title: str, detail: str | None, extra: dict[str, Any]
) -> tuple[str, str | None, dict[str, Any]]:
    """Title, detail and field messages in ``lang`` from the Babel catalogue (English when a message
    has no translation); problem ``type`` values never change. Drops the private ``_type``/``_ctx``."""
    from stamp_service.web.i18n import translations

    gettext = translations(lang).gettext
    errors = extra.get("errors")
    if isinstance(errors, list):
        extra = dict(extra)
        extra["errors"] = [
            {
                **{k: v for k, v in e.items() if not str(k).startswith("_")},
                "message": _field_message(e, gettext) if lang != "en" else e.get("message"),
            }
            for e in errors
        ]
    if lang == "en":
        return title, detail, extra
    return gettext(title), gettext(detail) if detail else detail, extra


def problem_response(status: int, kind: str, title: str, detail: str | None = None, **extra: Any) -> Response:
    lang = problem_language()
    title, detail, extra = localized(lang, title, detail, extra)
    body: dict[str, Any] = {"type": f"/problems/{kind}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    if "request_id" in g:
        body["request_id"] = g.request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"Content-Language": lang}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if not wants_json():
        for prefixes, render in _PAGE_RENDERERS:
            if request.path.startswith(prefixes):
                page = render(status, title, detail or "")
                page.headers.update(headers)
                return page
        return _page(status, title, detail, headers)
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/problem+json",
        headers=headers,
    )


def _page(status: int, title: str, detail: str | None, headers: dict[str, str]) -> Response:
    """The public pages' error page (Vietnamese first); the plain fallback if even that fails."""
    try:
        from stamp_service.web.public import error_page

        response = error_page(status, title, detail)
    except Exception:  # an error while answering an error: never a second traceback
        log.exception("error page failed", extra={"path": request.path})
        html = render_template_string(_HTML, status=status, title=title, detail=detail or "")
        response = Response(html, status=status, mimetype="text/html")
        response.headers["Content-Security-Policy"] = HTML_CSP
    response.headers.update(headers)
    return response


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
        if exc.status == 401:
            # RFC 9110 §11.6.1: every 401 names the scheme that would succeed (RFC 6750 for bearer
            # tokens): a missing or bad token, and a failed scanner sign-in (whose answer is one).
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
        # A locked SQLite file (the writer lock not free within its bounded wait) or a PostgreSQL
        # restart. The open transaction rolled back; whether an earlier one of this request
        # committed is known from the session, and the answer must say so.
        session = g.get("db_session")
        committed = session is not None and committed_since_start(session)
        log.warning(
            "database unavailable",
            extra={"error": type(exc.orig).__name__, "path": request.path, "committed": committed},
        )
        detail = (
            "Part of the change was saved before the database failed; read the resource again "
            "before retrying."
            if committed
            else "Nothing was changed; retry in a moment."
        )
        return problem_response(
            503, "database-busy", "The database is busy or restarting", detail, retry_after=2
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.path})
        return problem_response(500, "internal-error", "Internal error", "The error was logged.")
