"""``/status/bundle.bin`` (the signed offline status bundle) and ``/status/bundle.json`` (its metadata).

Public and cacheable by anyone (a CDN may serve them). The bytes are rebuilt only
when the status generation moved or the stored bundle is an hour old
(``services.bundle``); each process answers from memory in between.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, json, request

from stamp_service.crypto.keyring import for_runtime
from stamp_service.services.bundle import VALIDITY, BundleCache, Served
from stamp_service.web.context import db, runtime

bp = Blueprint("bundle_public", __name__)
MAX_AGE = 60  # seconds: a revocation reaches HTTP caches within a minute; scans online are live
BIN_PATH = "/status/bundle.bin"


def _served() -> Served:
    rt = runtime()
    cache = rt.services.get("status_bundle")
    if cache is None:
        cache = rt.services.setdefault("status_bundle", BundleCache())
    return cache.get(db(), for_runtime(rt), rt.store)  # type: ignore[no-any-return]


def _headers(response: Response, served: Served) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # the offline scanner may live elsewhere
    response.headers["X-Bundle-Seq"] = str(served.seq)
    return response


@bp.get(BIN_PATH)
def bundle_bin() -> Response:
    served = _served()
    response = Response(served.data, mimetype="application/octet-stream")
    response.set_etag(served.sha256[:32])
    response.last_modified = served.issued_at
    _headers(response, served).make_conditional(request)  # in place: 304 when the ETag matches
    return response


@bp.get("/status/bundle.json")
def bundle_json() -> Response:
    served = _served()
    meta = {
        "format": "ocop-status-bundle",
        "version": 1,
        "url": BIN_PATH,
        "seq": served.seq,
        "issued_at": served.issued_at.isoformat().replace("+00:00", "Z"),
        "refresh_after": served.refresh_after.isoformat().replace("+00:00", "Z"),
        "valid_until": (served.issued_at + VALIDITY).isoformat().replace("+00:00", "Z"),
        "kid": served.kid,
        "sha256": served.sha256,
        "size": served.size,
        "counts": served.counts,
        "jwks": "/.well-known/jwks.json",
    }
    response = Response(json.dumps(meta, sort_keys=True), mimetype="application/json")
    response.set_etag(f"{served.sha256[:32]}-meta")
    _headers(response, served).make_conditional(request)  # in place: 304 when the ETag matches
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
