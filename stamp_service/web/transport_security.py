"""HTTP Strict Transport Security on every answer when the public address is HTTPS.

A WSGI layer around the whole app, not an ``after_request`` hook, so the answers that never reach
Flask (the repeat-page shortcut in web.repeat_page) carry it too. Browsers honour the header only
over HTTPS, so it is harmless on a plain-HTTP development server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

HSTS = "max-age=31536000"  # one year; no includeSubDomains: other hosts under the domain are not ours


class StrictTransportSecurity:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not any(name.lower() == "strict-transport-security" for name, _ in headers):
                headers.append(("Strict-Transport-Security", HSTS))
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def wrap(wsgi_app: Callable[..., Iterable[bytes]], public_base_url: str) -> Callable[..., Iterable[bytes]]:
    """``wsgi_app`` with HSTS when ``public_base_url`` is https, else unchanged."""
    if public_base_url.lower().startswith("https://"):
        return StrictTransportSecurity(wsgi_app)
    return wsgi_app
