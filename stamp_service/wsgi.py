"""Entry point for gunicorn: ``gunicorn stamp_service.wsgi:app``."""

from stamp_service import create_app
from stamp_service.config import load_settings
from stamp_service.logs import configure_logging

_settings = load_settings()
configure_logging(json_format=_settings.log_json)
app = create_app(_settings)
