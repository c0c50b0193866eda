"""Entry point for gunicorn: ``gunicorn stamp_service.wsgi:app`` (also what ``stamp-service serve`` loads).

Imported in each gunicorn worker (no preload), so the embedded default's issuance thread runs in
the worker that serves the approvals.
"""

from stamp_service import create_app
from stamp_service.config import load_settings
from stamp_service.logs import configure_logging
from stamp_service.serve import start_background_work

_settings = load_settings()
configure_logging(json_format=_settings.log_json)
app = create_app(_settings)
start_background_work(app)
