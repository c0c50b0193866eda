"""OCOP stamp service. ``create_app`` builds the WSGI app; nothing happens at import time."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from stamp_service.config import Settings, load_settings

# Each module exposes ``init_app(app)``; order matters only for error handlers (first).
WEB_MODULES = (
    "stamp_service.web.errors",
    "stamp_service.web.context",
    "stamp_service.web.ops",
    "stamp_service.web.metrics",
    "stamp_service.web.openapi",
    "stamp_service.web.registry_api",
    "stamp_service.web.products_api",
    "stamp_service.web.certificates_api",
    "stamp_service.web.lots_api",
    "stamp_service.web.epcis_api",
    "stamp_service.web.accounts_api",
    "stamp_service.web.keys_public",
    "stamp_service.web.public",
    "stamp_service.web.gs1_resolver",
    "stamp_service.web.verify_api",
    "stamp_service.web.revocation_api",
    "stamp_service.web.bundle_public",
    "stamp_service.web.stamps_api",
    "stamp_service.web.print_presets_api",
    "stamp_service.web.findings_api",
    "stamp_service.web.scanner",
    # Pages for people: the shared layer first (CSRF, language, error pages), then the pages.
    "stamp_service.web.people",
    "stamp_service.web.signin_pages",
    "stamp_service.web.console_home",
    "stamp_service.web.producer_home",
    "stamp_service.web.producer_lots",
    "stamp_service.web.producer_requests",
    "stamp_service.web.producer_products",
    "stamp_service.web.producer_scans",
    "stamp_service.web.producer_notices",
    "stamp_service.web.producer_staff",
    "stamp_service.web.trace_documents_public",
    "stamp_service.web.accounts_pages",
    "stamp_service.web.console_producers",
    "stamp_service.web.console_products",
    "stamp_service.web.console_lots",
    "stamp_service.web.console_inbox",
    "stamp_service.web.console_audit",
    "stamp_service.web.console_keys",
    "stamp_service.web.console_statistics",
    "stamp_service.web.console_requests",
    "stamp_service.web.console_revocation",
    "stamp_service.web.console_findings",
    "stamp_service.web.console_consumer_reports",
)


MAX_ID = 2**31 - 1


def digits_up_to(bound: int) -> str:
    """A regular expression for the decimal numbers 0..``bound`` (leading zeros allowed)."""
    digits = str(bound)
    width = len(digits)
    options = [rf"\d{{1,{width - 1}}}"] if width > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            rest = width - i - 1
            options.append(digits[:i] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` limited to the 32-bit ids the database holds: larger ones are a plain 404.

    The limit is in the regular expression, not only in ``max``: werkzeug matches a path by
    its expressions before it converts values, so a too-large id that matched would answer
    405 (another method's rule matched the path) instead of 404.
    """

    regex = digits_up_to(MAX_ID)

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the app from ``Settings``, or from environment-style overrides, or the environment."""
    from stamp_service.runtime import Runtime

    if isinstance(config, Settings):
        settings = config
    else:
        import os

        env = dict(os.environ)
        env.update({k: str(v) for k, v in (config or {}).items()})
        settings = load_settings(env)
    app = Flask(__name__)
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes, TESTING=settings.testing)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["ocop"] = Runtime.from_settings(settings)
    for name in WEB_MODULES:
        importlib.import_module(name).init_app(app)
    from stamp_service.web import transport_security

    app.wsgi_app = transport_security.wrap(app.wsgi_app, settings.public_base_url)  # type: ignore[method-assign]
    if settings.trusted_proxies:  # outermost, so every layer sees the client
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app
