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
    "stamp_service.web.findings_api",
    "stamp_service.web.scanner",
)


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` limited to the 32-bit ids the database holds: larger ones are a plain 404."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**31 - 1)
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
    if settings.trusted_proxies:  # outermost, so every layer (web.repeat_page too) sees the client
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app
