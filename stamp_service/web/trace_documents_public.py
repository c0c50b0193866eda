"""``/documents/<sha256>``: a trace event's stored photo or document, opened from the public page.

Public like the page that links to it. The bytes are the checked ones (re-encoded image, inert
PDF); they are served with their stored type, ``nosniff`` and a sandboxing CSP, so even a file
that somehow were not what it claims could not run as a page of this origin.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from stamp_service.services import trace_documents
from stamp_service.web.context import db

bp = Blueprint("trace_documents_public", __name__)


@bp.get("/documents/<sha256>")
def document(sha256: str) -> Response:
    found = trace_documents.public_document(db(), sha256.lower())
    response = Response(found.data, mimetype=found.media_type)
    extension = {"application/pdf": "pdf", "image/png": "png"}.get(found.media_type, "jpg")
    response.headers["Content-Disposition"] = f'inline; filename="{found.sha256[:12]}.{extension}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "public, max-age=86400, immutable"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
