"""``/.well-known/jwks.json``: the public signing keys with their states, cacheable by anyone."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, Response, json, request

from stamp_service.services.keys import public_jwks
from stamp_service.web.context import db

bp = Blueprint("keys_public", __name__)
MAX_AGE = 300  # a state change reaches caches within five minutes; verification itself is live


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    body = json.dumps(public_jwks(db()), sort_keys=True, separators=(",", ":")).encode("utf-8")
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # the offline scanner may live elsewhere
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.make_conditional(request)  # in place: 304 when the ETag matches
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
