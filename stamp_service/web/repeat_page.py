"""A WSGI shortcut for the commonest public request: a repeat scan whose page is already rendered.

The verification page of a stamp that this process has just answered for the same client
(services.repeat_scans) is served from the rendered-page cache (web.public.RenderedPages)
before Flask builds a request context, matches routes and runs its hooks: on a two-core host
that machinery costs as much as the answer itself (bench/verify.py).

It serves only ``GET /V/<token>`` (or ``/v/``, one trailing slash) without a query string, and
only when every piece is already in memory: the verified signature, the remembered verdict
under the current status generation, the client's dedupe mark and rate-limit room, and the
rendered page for exactly that verdict and those counters. The response is what the Flask
route sends (same body, the same ``PAGE_HEADERS``, ``X-Request-ID``, a metrics count and an
access line; a test compares the two). Anything else goes to Flask unchanged; a repeat that
was counted here but whose page was missing goes to Flask with its answer attached
(``ANSWERED_REPEAT``), so it is counted once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from flask import Flask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from stamp_service.services import verification
from stamp_service.services.verification import ScanInfo
from stamp_service.web import ops, public
from stamp_service.web.i18n import LANGUAGES

log = logging.getLogger(__name__)

# The Flask rules the page answers (web.public.stamp_page), as metrics and access lines name them.
_ROUTES = {
    (case, slash): f"/{case}/<token>{'/' if slash else ''}" for case in ("V", "v") for slash in (False, True)
}


@lru_cache(maxsize=256)
def _language(default: str, header: str | None) -> str:
    """web.i18n.pick_language without ``?lang=`` (the shortcut never has a query string)."""
    if not header:
        return default
    return parse_accept_header(header, LanguageAccept).best_match(LANGUAGES, default=default) or default


class RepeatPageShortcut:
    def __init__(self, app: Flask, inner: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.inner = inner
        self.served = 0  # pages served here (tests, metrics)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") == "GET"
            and path[:3] in ("/V/", "/v/")
            and not environ.get("QUERY_STRING")
        ):
            started = time.perf_counter()
            try:
                page = self._page(environ, path)
            except Exception:  # the shortcut must never cost a request: Flask answers it instead
                log.warning("repeat page shortcut failed; Flask answers", exc_info=True)
                page = None
            if page is not None:
                route, headers, body = page
                start_response("200 OK", headers)
                request_id = next(v for k, v in headers if k == "X-Request-ID")
                ops.finished("GET", route, 200, started, request_id=request_id)
                self.served += 1
                return [body]
        return self.inner(environ, start_response)

    def _page(self, environ: dict[str, Any], path: str) -> tuple[str, list[tuple[str, str]], bytes] | None:
        runtime = self.app.extensions["ocop"]
        env = runtime.services.get("verify_env")  # built by the first page Flask served
        if env is None or env.repeats is None:
            return None
        token, slash = path[3:], False
        if token.endswith("/"):
            token, slash = token[:-1], True
        if not token or "/" in token:
            return None
        pages = env.memo.get("rendered")
        if pages is None:
            return None
        client = public._client_hash(env.keyring, environ.get("REMOTE_ADDR"))
        scan = ScanInfo(client, public._browser(environ.get("HTTP_USER_AGENT", "")), None, "qr")
        result = verification.answer_repeat(env, token, scan=scan, rate=public.page_rate(env, client))
        if result is None:
            return None
        environ[public.ANSWERED_REPEAT] = result  # counted: if Flask must answer, it will not count again
        lang = _language(runtime.settings.default_language, environ.get("HTTP_ACCEPT_LANGUAGE"))
        gzip_ok = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        key = public.rendered_key(result, token, lang, gzip_ok=gzip_ok, shares_place=False)
        hit = pages.get(key) if key else None
        if hit is None:
            return None
        body, encoding = hit
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
        if encoding:
            headers.append(("Content-Encoding", encoding))
        headers += public.PAGE_HEADERS
        headers.append(("X-Request-ID", ops.request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))))
        return _ROUTES[(path[1], slash)], headers, body
