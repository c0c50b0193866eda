"""OCOP stamp service. ``create_app`` builds the WSGI app; nothing happens at import time."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from flask import Flask

from stamp_service.config import Settings, load_settings

# Each module exposes ``init_app(app)``; order matters only for error handlers (first).
WEB_MODULES = (
    "stamp_service.web.errors",
    "stamp_service.web.context",
    "stamp_service.web.ops",
    "stamp_service.web.openapi",
    "stamp_service.web.registry_api",
)


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
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes, TESTING=settings.testing)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["ocop"] = Runtime.from_settings(settings)
    for name in WEB_MODULES:
        importlib.import_module(name).init_app(app)
    return app
